"""Custom models for the own-model checks: honest designs of many kinds, and disguises of other models' work.

Each entry is the source of a notebook cell defining ``CustomModel1`` (and, where it needs one, using the
names a notebook of the ECG lab has by then: ``torch``, ``cnn`` the trained given CNN's training module,
``CnnModel``, ``custom1`` when it defines ``CustomModel2``). ``tests/test_ownership.py`` runs them against
the probe and the check directly; ``tests/test_course_grade_labs.py`` grades some of them in the real lab.
"""

from __future__ import annotations

#: Honest custom models: each must pass the own-model check (name -> cell source defining CustomModel1). Each is
#: a sound design of its kind (batch or group normalisation, downsampling to ~40 steps, mean and max pooling),
#: so that trained in the lab's cell on the capped data it also clears the accuracy bar (graded at real
#: settings in tests/test_own_models_e2e.py, two designs per submission).
HONEST: dict[str, str] = {
    "residual": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.stem = torch.nn.Sequential(torch.nn.Conv1d(input_shape[0], 16, 7, stride=4, padding=3, bias=False),
                                        torch.nn.BatchNorm1d(16), torch.nn.ReLU())
        self.blocks = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Conv1d(c, 2 * c, 7, stride=2, padding=3, bias=False), torch.nn.BatchNorm1d(2 * c),
                                torch.nn.ReLU(), torch.nn.Conv1d(2 * c, 2 * c, 7, padding=3, bias=False), torch.nn.BatchNorm1d(2 * c))
            for c in (16, 32))
        self.skips = torch.nn.ModuleList(torch.nn.Conv1d(c, 2 * c, 1, stride=2, bias=False) for c in (16, 32))
        self.head = torch.nn.Linear(2 * 64, output_shape[0])

    def forward(self, x):
        x = self.stem(x)
        for block, skip in zip(self.blocks, self.skips):
            x = torch.relu(block(x) + skip(x))
        return self.head(torch.cat([x.mean(-1), x.amax(-1)], dim=1))
""",
    "recurrent": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        layers, c_in = [], input_shape[0]
        for c_out in (16, 32, 32, 48):
            layers += [torch.nn.Conv1d(c_in, c_out, 7, stride=2, padding=3), torch.nn.BatchNorm1d(c_out), torch.nn.ReLU()]
            c_in = c_out
        self.encoder = torch.nn.Sequential(*layers, torch.nn.MaxPool1d(2))
        self.lstm = torch.nn.LSTM(48, 48, batch_first=True)
        self.head = torch.nn.Linear(2 * 48, output_shape[0])

    def forward(self, x):
        outputs, (last, _) = self.lstm(self.encoder(x).transpose(1, 2))
        return self.head(torch.cat([outputs.mean(dim=1), last[-1]], dim=1))
""",
    "dilated": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.stem = torch.nn.Sequential(torch.nn.Conv1d(input_shape[0], 24, 9, stride=4, padding=4), torch.nn.BatchNorm1d(24),
                                        torch.nn.ReLU(), torch.nn.MaxPool1d(2))
        self.layers = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Conv1d(24, 24, 3, padding=d, dilation=d), torch.nn.BatchNorm1d(24), torch.nn.ReLU())
            for d in (1, 2, 4, 8, 16))
        self.classify = torch.nn.Linear(48, output_shape[0])

    def forward(self, x):
        x = self.stem(x)
        for layer in self.layers:
            x = x + layer(x)
        return self.classify(torch.cat([x.mean(-1), x.amax(-1)], dim=1))
""",
    "depthwise_separable": """
def separable(c_in, c_out, k):
    return torch.nn.Sequential(torch.nn.Conv1d(c_in, c_in, k, padding=k // 2, groups=c_in), torch.nn.Conv1d(c_in, c_out, 1),
                               torch.nn.BatchNorm1d(c_out), torch.nn.ReLU(), torch.nn.MaxPool1d(2))


class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.stem = torch.nn.Sequential(torch.nn.Conv1d(input_shape[0], 16, 8, stride=4, padding=2), torch.nn.BatchNorm1d(16),
                                        torch.nn.ReLU())
        self.body = torch.nn.Sequential(separable(16, 32, 9), separable(32, 48, 9), separable(48, 64, 9))
        self.out = torch.nn.Linear(2 * 64, output_shape[0])

    def forward(self, x):
        x = self.body(self.stem(x))
        return self.out(torch.cat([x.mean(-1), x.amax(-1)], dim=1))
""",
    "attention": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        layers, c_in = [], input_shape[0]
        for c_out in (16, 24, 32, 32, 32):
            layers += [torch.nn.Conv1d(c_in, c_out, 5, stride=2, padding=2), torch.nn.BatchNorm1d(c_out), torch.nn.ReLU()]
            c_in = c_out
        self.embed = torch.nn.Sequential(*layers)
        self.attention = torch.nn.MultiheadAttention(32, 4, batch_first=True)
        self.norm = torch.nn.LayerNorm(32)
        self.head = torch.nn.Linear(64, output_shape[0])

    def forward(self, x):
        tokens = self.embed(x).transpose(1, 2)
        mixed, _ = self.attention(tokens, tokens, tokens)
        tokens = self.norm(tokens + mixed)
        return self.head(torch.cat([tokens.mean(dim=1), tokens.amax(dim=1)], dim=1))
""",
    "functional": """
import torch.nn.functional as F


class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        shapes = [(16, input_shape[0], 9), (32, 16, 7), (32, 32, 7), (48, 32, 5)]
        self.weights = torch.nn.ParameterList(torch.nn.Parameter(torch.randn(s) * (2.0 / (s[1] * s[2])) ** 0.5) for s in shapes)
        self.gains = torch.nn.ParameterList(torch.nn.Parameter(torch.ones(s[0])) for s in shapes)
        self.shifts = torch.nn.ParameterList(torch.nn.Parameter(torch.zeros(s[0])) for s in shapes)
        self.w_out = torch.nn.Parameter(torch.randn(output_shape[0], 96) * 0.1)
        self.b_out = torch.nn.Parameter(torch.zeros(output_shape[0]))

    def forward(self, x):
        for w, g, b in zip(self.weights, self.gains, self.shifts):
            x = F.conv1d(x, w, stride=2, padding=w.shape[-1] // 2)
            x = F.max_pool1d(F.relu(F.group_norm(x, 4, g, b)), 2)
        return F.linear(torch.cat([x.mean(-1), x.amax(-1)], dim=1), self.w_out, self.b_out)
""",
    "buffers_and_weight_tying": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.register_buffer("window", torch.hann_window(5).reshape(1, 1, 5) / 2.0)
        self.conv = torch.nn.Sequential(torch.nn.Conv1d(input_shape[0], 32, 9, stride=4, padding=4), torch.nn.BatchNorm1d(32),
                                        torch.nn.ReLU(), torch.nn.Conv1d(32, 32, 7, stride=2, padding=3), torch.nn.BatchNorm1d(32),
                                        torch.nn.ReLU())
        self.mix = torch.nn.Conv1d(32, 32, 5, padding=2)
        self.norms = torch.nn.ModuleList([torch.nn.BatchNorm1d(32), torch.nn.BatchNorm1d(32)])
        self.head = torch.nn.Linear(64, output_shape[0])

    def forward(self, x):
        x = self.conv(torch.nn.functional.conv1d(x, self.window, padding=2))
        for norm in self.norms:  # the same layer twice: tied weights
            x = torch.nn.functional.max_pool1d(torch.relu(norm(self.mix(x))), 2)
        return self.head(torch.cat([x.mean(-1), x.amax(-1)], dim=1))
""",
    "own_base_class_and_helper": """
def block(c_in, c_out):
    return torch.nn.Sequential(torch.nn.Conv1d(c_in, c_out, 7, stride=2, padding=3), torch.nn.BatchNorm1d(c_out), torch.nn.ReLU())


class Base(torch.nn.Module):
    def __init__(self, input_shape, output_shape, widths):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        chans = [input_shape[0], *widths]
        self.body = torch.nn.Sequential(*[block(a, b) for a, b in zip(chans, chans[1:])])
        self.head = torch.nn.Linear(2 * chans[-1], output_shape[0])

    def forward(self, x):
        x = self.body(x)
        return self.head(torch.cat([x.mean(-1), x.amax(-1)], dim=1))


class CustomModel1(Base):
    def __init__(self, input_shape, output_shape):
        super().__init__(input_shape, output_shape, (16, 24, 32, 48, 48))
""",
    "seeded_init": """
class CustomModel1(torch.nn.Module):
    def __init__(self, input_shape, output_shape):
        super().__init__()
        torch.manual_seed(7)  # "for reproducibility"
        self.input_shape, self.output_shape = input_shape, output_shape
        layers, c_in = [], input_shape[0]
        for c_out, k in ((20, 11), (28, 7), (36, 7), (44, 5)):
            layers += [torch.nn.Conv1d(c_in, c_out, k, padding=k // 2), torch.nn.BatchNorm1d(c_out), torch.nn.ReLU(), torch.nn.MaxPool1d(3)]
            c_in = c_out
        self.net = torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Dropout(0.2),
                                       torch.nn.Linear(c_in, output_shape[0]))

    def forward(self, x):
        return self.net(x)
""",
    "jit_script": """
class _Net(torch.nn.Module):
    def __init__(self, c_in: int, n_out: int):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv1d(c_in, 16, 9, stride=4, padding=4), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
            torch.nn.Conv1d(16, 32, 7, stride=2, padding=3), torch.nn.BatchNorm1d(32), torch.nn.ReLU(),
            torch.nn.Conv1d(32, 48, 5, stride=2, padding=2), torch.nn.BatchNorm1d(48), torch.nn.ReLU())
        self.head = torch.nn.Linear(96, n_out)

    def forward(self, x):
        h = self.features(x)
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], dim=1))


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
