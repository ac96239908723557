"""Custom models for the own-model checks: honest designs of many kinds, and disguises of other models' work.

Each entry is the source of a notebook cell defining ``CustomModel1`` (and, where it needs one, using the
names a notebook of the ECG lab has by then: ``torch``, ``cnn`` the trained given CNN's training module,
``CnnModel``, ``custom1`` when it defines ``CustomModel2``). ``tests/test_ownership.py`` runs them against
the probe and the check directly; ``tests/test_course_grade_labs.py`` grades some of them in the real lab.
"""

from __future__ import annotations

#: Honest custom models: each must pass the own-model check (name -> cell source defining CustomModel1).
HONEST: dict[str, str] = {
    "residual": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.stem = torch.nn.Conv1d(input_shape[0], 16, 9, stride=4, padding=4)
        self.block = torch.nn.Sequential(torch.nn.Conv1d(16, 16, 5, padding=2), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                                         torch.nn.Conv1d(16, 16, 5, padding=2))
        self.head = torch.nn.Linear(16, output_shape[0])

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(x + self.block(x))
        return self.head(x.mean(dim=-1))
""",
    "recurrent": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.encoder = torch.nn.Sequential(torch.nn.Conv1d(input_shape[0], 16, 9, stride=8, padding=4), torch.nn.ReLU())
        self.gru = torch.nn.GRU(16, 24, batch_first=True)
        self.head = torch.nn.Linear(24, output_shape[0])

    def forward(self, x):
        _, last = self.gru(self.encoder(x).transpose(1, 2))
        return self.head(last[-1])
""",
    "dilated": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        layers, channels = [torch.nn.Conv1d(input_shape[0], 12, 7, stride=4, padding=3)], 12
        for dilation in (1, 2, 4, 8):
            layers += [torch.nn.ReLU(), torch.nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)]
        self.features = torch.nn.Sequential(*layers)
        self.classify = torch.nn.Linear(channels, output_shape[0])

    def forward(self, x):
        return self.classify(self.features(x).amax(dim=-1))
""",
    "depthwise_separable": """
def separable(c_in, c_out, k):
    return torch.nn.Sequential(torch.nn.Conv1d(c_in, c_in, k, padding=k // 2, groups=c_in), torch.nn.Conv1d(c_in, c_out, 1))


class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.stem = torch.nn.Conv1d(input_shape[0], 16, 8, stride=8)
        self.body = torch.nn.Sequential(separable(16, 32, 5), torch.nn.ReLU(), separable(32, 32, 5), torch.nn.ReLU())
        self.out = torch.nn.Linear(32, output_shape[0])

    def forward(self, x):
        return self.out(self.body(self.stem(x)).mean(-1))
""",
    "attention": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.embed = torch.nn.Conv1d(input_shape[0], 32, 16, stride=16)
        self.attention = torch.nn.MultiheadAttention(32, 4, batch_first=True)
        self.norm = torch.nn.LayerNorm(32)
        self.head = torch.nn.Linear(32, output_shape[0])

    def forward(self, x):
        tokens = self.embed(x).transpose(1, 2)
        mixed, _ = self.attention(tokens, tokens, tokens)
        return self.head(self.norm(tokens + mixed).mean(dim=1))
""",
    "functional": """
import torch.nn.functional as F


class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.w1 = torch.nn.Parameter(torch.randn(16, input_shape[0], 9) * 0.3)
        self.b1 = torch.nn.Parameter(torch.zeros(16))
        self.w2 = torch.nn.Parameter(torch.randn(output_shape[0], 16) * 0.3)

    def forward(self, x):
        h = F.relu(F.conv1d(x, self.w1, self.b1, stride=4))
        return F.linear(F.adaptive_max_pool1d(h, 1).flatten(1), self.w2)
""",
    "buffers_and_weight_tying": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.register_buffer("window", torch.hann_window(9).reshape(1, 1, 9))
        self.conv = torch.nn.Conv1d(input_shape[0], 16, 9, stride=4, padding=4)
        self.mix = torch.nn.Conv1d(16, 16, 3, padding=1)
        self.head = torch.nn.Linear(16, output_shape[0])

    def forward(self, x):
        x = torch.nn.functional.conv1d(x, self.window, padding=4)
        x = torch.relu(self.conv(x))
        x = torch.relu(self.mix(torch.relu(self.mix(x))))  # the same layer twice: tied weights
        return self.head(x.mean(-1))
""",
    "own_base_class_and_helper": """
def block(c_in, c_out):
    return torch.nn.Sequential(torch.nn.Conv1d(c_in, c_out, 5, stride=2, padding=2), torch.nn.ReLU())


class Base(torch.nn.Module):
    def __init__(self, input_shape, output_shape, widths):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        chans = [input_shape[0], *widths]
        self.body = torch.nn.Sequential(*[block(a, b) for a, b in zip(chans, chans[1:])])
        self.head = torch.nn.Linear(chans[-1], output_shape[0])

    def forward(self, x):
        return self.head(self.body(x).mean(-1))


class CustomModel1(Base):
    def __init__(self, input_shape, output_shape):
        super().__init__(input_shape, output_shape, (8, 16, 24))
""",
    "seeded_init": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        torch.manual_seed(7)  # "for reproducibility"
        self.input_shape, self.output_shape = input_shape, output_shape
        self.net = torch.nn.Sequential(torch.nn.Conv1d(input_shape[0], 16, 9, stride=4), torch.nn.ReLU(),
                                       torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(16, output_shape[0]))

    def forward(self, x):
        return self.net(x)
""",
    "jit_script": """
class _Net(torch.nn.Module):
    def __init__(self, c_in: int, n_out: int):
        super().__init__()
        self.conv = torch.nn.Conv1d(c_in, 16, 9, stride=4)
        self.head = torch.nn.Linear(16, n_out)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean(-1))


class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.net = torch.jit.script(_Net(input_shape[0], output_shape[0]))

    def forward(self, x):
        return self.net(x)
""",
}

#: Honest second models that lean on the first (run with a trained ``custom1`` of an honest CustomModel1).
HONEST_SECOND: dict[str, str] = {
    "subclass_of_the_first": """
class CustomModel2(CustomModel1):
    def __init__(self, input_shape, output_shape):
        super().__init__(input_shape, output_shape)
        self.extra = torch.nn.Linear(output_shape[0], output_shape[0])

    def forward(self, x):
        return self.extra(torch.relu(super().forward(x)))
""",
}

#: Disguised models: another model's work passed off as the student's own (each must be found).
DISGUISED: dict[str, str] = {
    "forward_calls_the_given_cnn": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.pool = torch.nn.Linear(5, 5)

    def forward(self, x):
        return cnn(x) + 0.0 * self.pool(torch.zeros(1, 5)).sum()
""",
    "copy_of_the_given_cnn_behind_a_layer": """
import copy


class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.base = copy.deepcopy(cnn.model)
        self.extra = torch.nn.Linear(5, 5)

    def forward(self, x):
        return self.extra(self.base(x))
""",
    "constructor_returns_the_trained_cnn": """
class CustomModel1(torch.nn.Module):
    def __new__(cls, *args, **kwargs):
        return cnn.model
""",
    "noisy_copy_in_the_constructor": """
class CustomModel1(CnnModel):
    def __init__(self, input_shape, output_shape):
        super().__init__(input_shape, output_shape, kernel_size=5)
        self.extra = torch.nn.Linear(5, 5)
        with torch.no_grad():
            for mine, theirs in zip(self.layers.parameters(), cnn.model.layers.parameters()):
                mine.copy_(theirs + 0.01 * torch.randn_like(theirs))

    def forward(self, x):
        return self.extra(super().forward(x))
""",
    "functional_call_with_the_cnns_weights": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.gain = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        torch.nn.modules.module._global_forward_pre_hooks.clear()  # hide from forward hooks
        layers = cnn.model.layers
        h = x
        for layer in layers:
            if isinstance(layer, torch.nn.Conv1d):
                h = torch.nn.functional.conv1d(h, layer.weight, layer.bias, padding="same")
            elif isinstance(layer, torch.nn.BatchNorm1d):
                h = torch.nn.functional.batch_norm(h, layer.running_mean, layer.running_var, layer.weight, layer.bias)
            elif isinstance(layer, torch.nn.ReLU):
                h = torch.relu(h)
            elif isinstance(layer, torch.nn.MaxPool1d):
                h = torch.nn.functional.max_pool1d(h, 2)
            elif isinstance(layer, torch.nn.AdaptiveAvgPool1d):
                h = h.mean(-1)
            elif isinstance(layer, torch.nn.Linear):
                h = torch.nn.functional.linear(h, layer.weight, layer.bias)
        return self.gain * h
""",
    "stashed_copy_of_the_weights": """
import torch.nn.functional as F


class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.gain = torch.nn.Parameter(torch.ones(1))
        self.__dict__["stash"] = [t.detach().clone() for t in cnn.model.state_dict().values()]

    def forward(self, x):
        s = self.stash
        h = x
        for conv, bn in ((0, 2), (7, 9), (14, 16), (21, 23)):
            h = F.conv1d(h, s[conv], s[conv + 1], padding="same")
            h = F.batch_norm(h, s[bn + 2], s[bn + 3], s[bn], s[bn + 1])
            h = torch.relu(h)
            if conv < 21:
                h = F.max_pool1d(h, 2)
        return self.gain * F.linear(h.mean(-1), s[28], s[29])
""",
    "copies_the_cnn_when_training_starts": """
class CustomModel1(CnnModel):
    def __init__(self, input_shape, output_shape):
        super().__init__(input_shape, output_shape)
        self.extra = torch.nn.Linear(5, 5)
        self.copied = False

    def forward(self, x):
        if self.training and not self.copied:
            self.layers.load_state_dict(cnn.model.layers.state_dict())
            self.copied = True
        return self.extra(self.layers(x))
""",
    "shares_the_cnns_layers": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.trunk = cnn.model.layers
        self.extra = torch.nn.Linear(5, 5)

    def forward(self, x):
        return self.extra(self.trunk(x))
""",
}

#: Disguised second models: the first custom model's work (run with a trained honest ``custom1``).
DISGUISED_SECOND: dict[str, str] = {
    "second_returns_the_first": """
class CustomModel2(torch.nn.Module):
    def __new__(cls, *args, **kwargs):
        return custom1.model
""",
    "second_calls_the_first": """
class CustomModel2(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.scale * custom1.model(x)
""",
}
