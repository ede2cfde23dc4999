#!/usr/bin/env python3
"""Writes Tests/RecurLayersTests/Fixtures/recurrent.json: PyTorch's (and a numpy course-GRU's) answers
for small recurrent networks, which the Swift tests compare Recur against.

Every case is a 2-layer bidirectional network over a packed batch whose lengths all differ, with a given
initial state. Computed in float64. For each case the file holds the weights (PyTorch state_dict names),
the input [T, B, D] (zero past each length), the lengths, h0 (and c0), upstream weights R_out, R_h (R_c)
of the loss  L = sum(output * R_out) + sum(h_n * R_h) (+ sum(c_n * R_c)),  and the results: output
[T, B, 2H] (zero past each length), h_n (c_n), dL/d(every weight), dL/dx, dL/dh0 (dL/dc0).

Cases: nn.RNN tanh, nn.RNN relu, nn.GRU, nn.LSTM — and the course GRU, whose forward pass is the course's
formulas written out in numpy (column vectors, W acting on [c<t-1>; x<t>]) and whose gradients come from
torch autograd through the same formulas written with torch operations.

Run (torch CPU in a virtual environment outside the repository):
    python3 -m venv ~/venv-ref && ~/venv-ref/bin/pip install 'torch==2.13.0+cpu' numpy
    ~/venv-ref/bin/python Scripts/make_recurrent_fixtures.py
"""
import json
import os

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

T, B, D, H, LAYERS = 4, 3, 3, 4, 2
LENGTHS = [3, 4, 1]


def as_list(tensor):
    return [float(v) for v in np.asarray(tensor, dtype=np.float64).reshape(-1)]


def inputs(generator):
    x = torch.randn(T, B, D, generator=generator, dtype=torch.float64)
    for b, length in enumerate(LENGTHS):
        x[length:, b] = 0
    h0 = torch.randn(LAYERS * 2, B, H, generator=generator, dtype=torch.float64)
    c0 = torch.randn(LAYERS * 2, B, H, generator=generator, dtype=torch.float64)
    r_out = torch.randn(T, B, 2 * H, generator=generator, dtype=torch.float64)
    r_h = torch.randn(LAYERS * 2, B, H, generator=generator, dtype=torch.float64)
    r_c = torch.randn(LAYERS * 2, B, H, generator=generator, dtype=torch.float64)
    return x, h0, c0, r_out, r_h, r_c


def torch_case(name, module, seed):
    generator = torch.Generator().manual_seed(seed)
    module = module.double()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.rand(parameter.shape, generator=generator, dtype=torch.float64) * 1.2 - 0.6)
    x, h0, c0, r_out, r_h, r_c = inputs(generator)
    lstm = isinstance(module, torch.nn.LSTM)
    x.requires_grad_(True)
    h0.requires_grad_(True)
    c0.requires_grad_(True)
    packed = pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False)
    if lstm:
        out, (hn, cn) = module(packed, (h0, c0))
    else:
        out, hn = module(packed, h0)
    out, _ = pad_packed_sequence(out, total_length=T)
    loss = (out * r_out).sum() + (hn * r_h).sum()
    if lstm:
        loss = loss + (cn * r_c).sum()
    loss.backward()
    case = {
        "name": name,
        "cell": {"RNN": "rnn", "GRU": "gru", "LSTM": "lstm"}[type(module).__name__],
        "activation": getattr(module, "nonlinearity", "tanh"),
        "gru_variant": "pytorch",
        "weights": {k: as_list(v.detach()) for k, v in module.state_dict().items()},
        "weight_gradients": {k: as_list(p.grad) for k, p in module.named_parameters()},
        "output": as_list(out.detach()),
        "hidden": as_list(hn.detach()),
        "input_gradient": as_list(x.grad),
        "initial_hidden_gradient": as_list(h0.grad),
    }
    if lstm:
        case["cell_state"] = as_list(cn.detach())
        case["initial_cell_state_gradient"] = as_list(c0.grad)
    return case, x.detach(), h0.detach(), c0.detach(), r_out, r_h, r_c


# ---------------------------------------------------------------------------------------------------------
# The course GRU: the seed's formulas, literally.
#   Γr = σ(W_r [c<t-1>; x<t>] + b_r)      Γu = σ(W_u [c<t-1>; x<t>] + b_u)
#   c̃  = tanh(W_c [Γr * c<t-1>; x<t>] + b_c)
#   c<t> = Γu * c̃ + (1 − Γu) * c<t-1>
# Each W_* is (H, H + D_layer), hidden columns first, as the course stacks [c<t-1>; x<t>].
# ---------------------------------------------------------------------------------------------------------

def course_weights(generator):
    weights = {}
    for layer in range(LAYERS):
        d = D if layer == 0 else 2 * H
        for suffix in ("", "_reverse"):
            for gate in ("r", "u", "c"):
                weights[f"W_{gate}_l{layer}{suffix}"] = np.random.default_rng(
                    generator.integers(1 << 31)).uniform(-0.6, 0.6, (H, H + d))
                weights[f"b_{gate}_l{layer}{suffix}"] = np.random.default_rng(
                    generator.integers(1 << 31)).uniform(-0.6, 0.6, (H, 1))
    return weights


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def course_numpy_forward(weights, x, h0):
    """x [T, B, D], h0 [2L, B, H]; returns output [T, B, 2H] and h_n [2L, B, H] (numpy, column vectors)."""
    layer_input = x
    finals = np.zeros((2 * LAYERS, B, H))
    for layer in range(LAYERS):
        outputs = []
        for direction, suffix in enumerate(("", "_reverse")):
            W = {g: weights[f"W_{g}_l{layer}{suffix}"] for g in "ruc"}
            b = {g: weights[f"b_{g}_l{layer}{suffix}"] for g in "ruc"}
            out = np.zeros((T, B, H))
            for example in range(B):
                c = h0[2 * layer + direction, example].reshape(H, 1)
                steps = range(LENGTHS[example])
                for t in (reversed(steps) if direction else steps):
                    x_t = layer_input[t, example].reshape(-1, 1)
                    gamma_r = sigmoid(W["r"] @ np.vstack([c, x_t]) + b["r"])
                    gamma_u = sigmoid(W["u"] @ np.vstack([c, x_t]) + b["u"])
                    c_tilde = np.tanh(W["c"] @ np.vstack([gamma_r * c, x_t]) + b["c"])
                    c = gamma_u * c_tilde + (1 - gamma_u) * c
                    out[t, example] = c[:, 0]
                finals[2 * layer + direction, example] = c[:, 0]
            outputs.append(out)
        layer_input = np.concatenate(outputs, axis=2)
    return layer_input, finals


def course_torch_loss(weights, x, h0, r_out, r_h):
    """The same formulas with torch operations (for autograd), batched over B."""
    layer_input = x
    finals = []
    for layer in range(LAYERS):
        outputs = []
        for direction, suffix in enumerate(("", "_reverse")):
            W = {g: weights[f"W_{g}_l{layer}{suffix}"] for g in "ruc"}
            b = {g: weights[f"b_{g}_l{layer}{suffix}"] for g in "ruc"}
            rows = [None] * T
            final = [None] * B
            for example in range(B):
                c = h0[2 * layer + direction, example].reshape(H, 1)
                steps = range(LENGTHS[example])
                for t in (reversed(steps) if direction else steps):
                    x_t = layer_input[t, example].reshape(-1, 1)
                    gamma_r = torch.sigmoid(W["r"] @ torch.cat([c, x_t]) + b["r"])
                    gamma_u = torch.sigmoid(W["u"] @ torch.cat([c, x_t]) + b["u"])
                    c_tilde = torch.tanh(W["c"] @ torch.cat([gamma_r * c, x_t]) + b["c"])
                    c = gamma_u * c_tilde + (1 - gamma_u) * c
                    rows[t] = rows[t] or {}
                    rows[t][example] = c[:, 0]
                final[example] = c[:, 0]
            zero = torch.zeros(H, dtype=torch.float64)
            outputs.append(torch.stack([torch.stack([(rows[t] or {}).get(e, zero) for e in range(B)])
                                        for t in range(T)]))
            finals.append(torch.stack(final))
        layer_input = torch.cat(outputs, dim=2)
    hn = torch.stack(finals)
    return (layer_input * r_out).sum() + (hn * r_h).sum()


def to_recur_names(weights, gradients=False):
    """Course W_r, W_u, W_c (H, H + D) → weight_ih [3H, D] (x columns), weight_hh [3H, H] (c columns),
    bias_ih = b, bias_hh = 0 (gradient: the same as bias_ih's)."""
    out = {}
    for layer in range(LAYERS):
        for suffix in ("", "_reverse"):
            stacked = np.vstack([weights[f"W_{g}_l{layer}{suffix}"] for g in "ruc"])
            bias = np.concatenate([weights[f"b_{g}_l{layer}{suffix}"][:, 0] for g in "ruc"])
            out[f"weight_ih_l{layer}{suffix}"] = as_list(stacked[:, H:])
            out[f"weight_hh_l{layer}{suffix}"] = as_list(stacked[:, :H])
            out[f"bias_ih_l{layer}{suffix}"] = as_list(bias)
            out[f"bias_hh_l{layer}{suffix}"] = as_list(bias if gradients else np.zeros(3 * H))
    return out


def course_case(seed):
    generator = torch.Generator().manual_seed(seed)
    x, h0, _, r_out, r_h, _ = inputs(generator)
    weights = course_weights(np.random.default_rng(seed))
    output, hn = course_numpy_forward(weights, x.numpy(), h0.numpy())
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items()}
    x_leaf = x.clone().requires_grad_(True)
    h0_leaf = h0.clone().requires_grad_(True)
    course_torch_loss(leaves, x_leaf, h0_leaf, r_out, r_h).backward()
    grads = {k: v.grad.numpy() for k, v in leaves.items()}
    case = {
        "name": "course GRU (numpy formulas; gradients by torch autograd of the same formulas)",
        "cell": "gru", "activation": "tanh", "gru_variant": "course",
        "weights": to_recur_names(weights),
        "weight_gradients": to_recur_names(grads, gradients=True),
        "output": as_list(output), "hidden": as_list(hn),
        "input_gradient": as_list(x_leaf.grad), "initial_hidden_gradient": as_list(h0_leaf.grad),
    }
    return case, x, h0, None, r_out, r_h, None


def main():
    torch.manual_seed(0)
    made = [
        torch_case("nn.RNN tanh", torch.nn.RNN(D, H, num_layers=LAYERS, bidirectional=True), 1),
        torch_case("nn.RNN relu", torch.nn.RNN(D, H, num_layers=LAYERS, nonlinearity="relu", bidirectional=True), 2),
        torch_case("nn.GRU", torch.nn.GRU(D, H, num_layers=LAYERS, bidirectional=True), 3),
        torch_case("nn.LSTM", torch.nn.LSTM(D, H, num_layers=LAYERS, bidirectional=True), 4),
        course_case(5),
    ]
    cases = []
    for case, x, h0, c0, r_out, r_h, r_c in made:
        case.update({"input": as_list(x), "initial_hidden": as_list(h0), "output_weights": as_list(r_out),
                     "hidden_weights": as_list(r_h)})
        if case["cell"] == "lstm":
            case.update({"initial_cell_state": as_list(c0), "cell_state_weights": as_list(r_c)})
        cases.append(case)
    document = {"steps": T, "batch_size": B, "input_size": D, "hidden_size": H, "layers": LAYERS,
                "lengths": LENGTHS, "torch": torch.__version__, "cases": cases}
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "RecurLayersTests", "Fixtures", "recurrent.json")
    with open(path, "w") as f:
        json.dump(document, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path)}: {len(cases)} cases")


if __name__ == "__main__":
    main()
