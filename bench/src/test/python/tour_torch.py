"""The loss tour in PyTorch: the same runs as `bench/run tour` (org.losskit.bench.tour), from the same data, split and
initial weights, trained the same way (full-batch gradient descent, float32), with PyTorch's own losses and autograd.
Writes bench/src/main/resources/tour/torch_curves.json.gz, which the tour page and TourMatchesTorchTest compare losskit's
curves with.

    /usr/bin/python3 bench/src/test/python/tour_torch.py            (Debian's python3-torch, PyTorch 1.13)

Everything that must be bit-identical to the Java side is computed in plain Python floats (IEEE double, one
operation at a time, summed left to right), never with NumPy's pairwise sums: the split (SplitMix64 and
Fisher-Yates), the standardisation, the class weights and the initial weights. The data hashes in the output let the
test prove that both sides trained on the same float32 arrays."""
import argparse
import gzip
import hashlib
import json
import math
import pathlib
import struct

import torch
import torch.nn.functional as F

TOUR = pathlib.Path(__file__).resolve().parents[2] / "main" / "resources" / "tour"
MASK64 = (1 << 64) - 1
REORDERINGS = 4   # float32 trainings with the training rows in another order, for each run


class SplitMix64:
    """Steele, Lea and Flood's SplitMix64, as org.losskit.bench.tour.SplitMix64."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, bound):
        return self.next() % bound

    def uniform24(self):
        """A float in [0, 1) with 24 random bits: k / 2^24, exact in float32."""
        return (self.next() >> 40) / 16777216.0


def shuffled(n, seed):
    rng = SplitMix64(seed)
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def read_rows(name, sep):
    with gzip.open(TOUR / name, "rt") as f:
        return [[float(v) for v in line.split(sep)] for line in f if line.strip()]


def column_stats(rows):
    """Mean and population standard deviation of each column, summed left to right in double."""
    n = len(rows)
    means, sds = [], []
    for j in range(len(rows[0])):
        total = 0.0
        for r in rows:
            total += r[j]
        mean = total / n
        squares = 0.0
        for r in rows:
            squares += (r[j] - mean) * (r[j] - mean)
        means.append(mean)
        sds.append(math.sqrt(squares / n))
    return means, sds


def diabetes(spec):
    features = read_rows("diabetes_data_raw.csv.gz", None)
    targets = [r[0] for r in read_rows("diabetes_target.csv.gz", None)]
    order = shuffled(len(features), spec["seed"])
    train, validation = order[:spec["trainRows"]], order[spec["trainRows"]:]
    means, sds = column_stats([features[i] for i in train])
    (target_mean,), (target_sd,) = column_stats([[targets[i]] for i in train])   # of the clean targets
    corrupted = set(train[:spec["corruptedRows"]])  # the first rows of a random order: a random subset

    def x(rows):
        return [[(features[i][j] - means[j]) / sds[j] for j in range(len(means))] for i in rows]

    def y(rows, corrupt):
        return [((targets[i] * spec["corruptionFactor"] if corrupt and i in corrupted else targets[i]) - target_mean)
                / target_sd for i in rows]

    return dict(train_x=x(train), train_y=y(train, True), validation_x=x(validation), validation_y=y(validation, False),
                corrupted=[k for k, i in enumerate(train) if i in corrupted], target_mean=target_mean, target_sd=target_sd)


def digits(spec):
    rows = read_rows("digits.csv.gz", ",")
    order = shuffled(len(rows), spec["seed"])
    train, validation = order[:spec["trainRows"]], order[spec["trainRows"]:]
    minority = set(spec["minorityClasses"])
    seen = {}
    imbalanced = []
    for i in train:   # keep every k-th row of each minority class, in training order
        c = int(rows[i][64])
        seen[c] = seen.get(c, 0) + 1
        if c not in minority or (seen[c] - 1) % spec["minorityKeepEvery"] == 0:
            imbalanced.append(i)

    # pixels 0..16 standardised with the training rows' mean and standard deviation (a constant pixel: divided by 1)
    means, sds = column_stats([rows[i][:64] for i in train])

    def x(idx):
        return [[(rows[i][j] - means[j]) / (sds[j] if sds[j] > 0 else 1.0) for j in range(64)] for i in idx]

    def y(idx):
        return [int(rows[i][64]) for i in idx]

    return dict(balanced=(x(train), y(train)), imbalanced=(x(imbalanced), y(imbalanced)),
                validation=(x(validation), y(validation)))


def balanced_weights(labels, classes):
    """sklearn's 'balanced' class weights n / (C n_c), in double."""
    counts = [0] * classes
    for c in labels:
        counts[c] += 1
    return [len(labels) / (classes * n) for n in counts]


def initial_softmax_weights(spec, features, classes):
    """W (features x classes, row-major) uniform in [-a, a) from SplitMix64(seed + 1), exact in float32; b = 0."""
    rng = SplitMix64(spec["seed"] + 1)
    a = spec["initScale"]
    return [[(2 * rng.uniform24() - 1) * a for _ in range(classes)] for _ in range(features)]


def data_hash(*arrays):
    """SHA-256 of the float32 (little-endian) or int32 values, in order: what the Java side hashes too."""
    h = hashlib.sha256()
    for a in arrays:
        t = torch.as_tensor(a)
        fmt = "<%di" % t.numel() if t.dtype in (torch.int32, torch.int64) else "<%df" % t.numel()
        h.update(struct.pack(fmt, *t.flatten().tolist()))
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------- the losses

def regression_loss(run, prediction, target):
    d = prediction - target
    kind = run["loss"]
    if kind == "mse":
        return F.mse_loss(prediction, target)
    if kind == "l1":
        return F.l1_loss(prediction, target)
    if kind == "huber":
        return F.huber_loss(prediction, target, delta=run["delta"])
    if kind == "smooth_l1":
        return F.smooth_l1_loss(prediction, target, beta=run["beta"])
    if kind == "log_cosh":   # log cosh d = |d| + log1p(exp(-2|d|)) - log 2 (PyTorch has no log-cosh loss)
        a = d.abs()
        return (a + torch.log1p(torch.exp(-2 * a)) - math.log(2)).mean()
    if kind == "quantile":   # pinball: max(tau u, (tau - 1) u), u = target - prediction
        u = target - prediction
        tau = run["tau"]
        return torch.maximum(tau * u, (tau - 1) * u).mean()
    raise ValueError(kind)


def classification_loss(run, logits, labels, class_weights):
    if run["loss"] == "cross_entropy":
        return F.cross_entropy(logits, labels, weight=class_weights, label_smoothing=run.get("labelSmoothing", 0.0))
    if run["loss"] == "focal":   # -(1 - p_y)^gamma log p_y, mean over rows (torchvision has only the sigmoid one)
        log_p = F.log_softmax(logits, dim=1).gather(1, labels[:, None])[:, 0]
        return (-(1 - log_p.exp()) ** run["gamma"] * log_p).mean()
    raise ValueError(run["loss"])


# ------------------------------------------------------------------------------------------------- training

def problem(spec, run, reg, cls, dtype, order):
    """The run's model inputs: features X (rows x features), the loss as a function of the logits Z = X W + b
    (rows x outputs), the same for the validation set, and the initial W. Regression has one output. With an order,
    the training rows come in that order: the same sums, accumulated in another order."""
    def permuted(rows):
        return rows if order is None else [rows[i] for i in order]

    if run["loss"] in ("mse", "l1", "huber", "smooth_l1", "log_cosh", "quantile"):
        x, y = permuted(reg["train_x"]), torch.tensor(permuted(reg["train_y"]), dtype=torch.float32).to(dtype)
        vx, vy = reg["validation_x"], torch.tensor(reg["validation_y"], dtype=torch.float32).to(dtype)
        w0 = [[0.0] for _ in x[0]]
        return (x, lambda z: regression_loss(run, z[:, 0], y), vx, lambda z: regression_loss(run, z[:, 0], vy), w0,
                y)
    x, labels = cls[run["data"]]
    vx, vlabels = cls["validation"]
    weights = None
    if run.get("classWeights") == "balanced":
        weights = torch.tensor(balanced_weights(labels, 10), dtype=torch.float32).to(dtype)
    x, labels = permuted(x), permuted(labels)
    y, vy = torch.tensor(labels, dtype=torch.int64), torch.tensor(vlabels, dtype=torch.int64)
    return (x, lambda z: classification_loss(run, z, y, weights), vx,
            lambda z: classification_loss(run, z, vy, weights), initial_softmax_weights(spec, len(x[0]), 10), y)


def train(spec, run, reg, cls, dtype, order=None, bounds=False):
    """Full-batch gradient descent, W <- W - lr dL/dW and b <- b - lr dL/db, from the run's initial weights; returns the
    train and validation loss after 0..steps updates (and, for bounds, what TourMatchesTorchTest's error bound needs)."""
    x, loss_of, vx, validation_loss_of, w0, y = problem(spec, run, reg, cls, dtype, order)
    x = torch.tensor(x, dtype=torch.float32).to(dtype)
    vx = torch.tensor(vx, dtype=torch.float32).to(dtype)
    w = torch.tensor(w0, dtype=torch.float32).to(dtype).requires_grad_()
    b = torch.zeros(w.shape[1], dtype=dtype, requires_grad=True)
    lr = run.get("learningRate", spec["learningRate"])
    curves = dict(train=[], validation=[])
    terms = {k: [] for k in ("gradNorm", "validationGradNorm", "absGrad", "maxG", "curvature", "gz", "validationGz",
                             "thetaNorm", "maxZ", "kinks")}
    curvature_max = dict(train=0.0, validation=0.0)
    for step in range(spec["steps"] + 1):
        z = x @ w + b
        loss = loss_of(z)
        vz = vx @ w + b
        validation_loss = validation_loss_of(vz)
        curves["train"].append(loss.item())
        curves["validation"].append(validation_loss.item())
        if bounds:
            record_terms(run, x, z, loss, vx, vz, validation_loss, w, b, terms, curvature_max, y)
        if step == spec["steps"]:
            break
        w.grad, b.grad = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        if bounds:
            terms["thetaNorm"].append(math.sqrt((w.detach() ** 2).sum().item() + (b.detach() ** 2).sum().item()))
    result = dict(curves=curves, w=w.detach(), b=b.detach(), vx=vx)
    if bounds:
        terms["thetaNorm"].append(terms["thetaNorm"][-1])
        terms["curvatureBound"] = curvature_max["train"] * top_eigenvalue(x)
        terms["validationCurvatureBound"] = curvature_max["validation"] * top_eigenvalue(vx)
        if run["loss"] not in ("l1", "quantile"):
            del terms["kinks"]
        result["terms"] = terms
    return result


def with_bias(x):
    return torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], 1)


def top_eigenvalue(x):
    """lambda_max(X~^T X~ / n), X~ = [X 1]."""
    xt = with_bias(x)
    return torch.linalg.eigvalsh(xt.T @ xt / xt.shape[0])[-1].item()


def logit_terms(z, loss):
    """G = dL/dZ, and per element Q_ic = sum_d |d G_ic / d z_id| |z_id| (what rounding Z to float32 does to G), and the
    largest n sum_d |d G_ic / d z_id| (a bound on the per-row Hessian of the unreduced loss; rows are independent)."""
    g, = torch.autograd.grad(loss, z, create_graph=True)
    q = torch.zeros_like(z)
    row_hessian = torch.zeros_like(z)
    for c in range(z.shape[1]):
        if not g.requires_grad:   # piecewise-linear losses: no second derivative
            break
        h, = torch.autograd.grad(g[:, c].sum(), z, retain_graph=True, allow_unused=True)
        if h is None:
            break
        h = h.detach()   # h[i, d] = d G_ic / d z_id
        q[:, c] = (h.abs() * z.detach().abs()).sum(1)
        row_hessian[:, c] = h.abs().sum(1)
    return g.detach(), q, z.shape[0] * row_hessian.max().item()


def record_terms(run, x, z, loss, vx, vz, validation_loss, w, b, terms, curvature_max, y):
    g, q, hessian = logit_terms(z, loss)
    vg, _, validation_hessian = logit_terms(vz, validation_loss)
    xa = with_bias(x).abs()
    grad = with_bias(x).T @ g
    terms["gradNorm"].append(grad.norm().item())
    terms["validationGradNorm"].append((with_bias(vx).T @ vg).norm().item())
    terms["absGrad"].append((xa.T @ g.abs()).norm().item())
    terms["maxG"].append(g.abs().max().item())
    terms["curvature"].append((xa.T @ q).norm().item())
    terms["gz"].append((g.abs() * z.detach().abs()).sum().item())
    terms["validationGz"].append((vg.abs() * vz.detach().abs()).sum().item())
    terms["maxZ"].append(z.detach().abs().max().item())
    curvature_max["train"] = max(curvature_max["train"], hessian)
    curvature_max["validation"] = max(curvature_max["validation"], validation_hessian)
    if run["loss"] in ("l1", "quantile"):   # the 8 residuals nearest the kink at 0, with |x~_i|
        d = (z.detach()[:, 0] - y).abs()
        nearest = torch.argsort(d)[:8]
        norms = with_bias(x)[nearest].norm(dim=1)
        terms["kinks"].append([v for i in range(8) for v in (d[nearest[i]].item(), norms[i].item())])


def diagnostics(logits, labels):
    """Per row: log-sum-exp, probability of the target class and entropy of the softmax, in the logits' precision."""
    lse = torch.logsumexp(logits, dim=1)
    log_p = logits - lse[:, None]
    target_p = log_p.gather(1, labels[:, None])[:, 0].exp()
    entropy = -(log_p.exp() * log_p).sum(1)
    return dict(logSumExp=lse.tolist(), targetProbability=target_p.tolist(), entropy=entropy.tolist())


def rounded(values, digits):
    return [float("%.*g" % (digits, v)) for v in values]


def four_digits(v, up):
    """v with 4 significant digits, rounded up (or down): bound terms only grow, kink distances only shrink."""
    if v == 0 or not math.isfinite(v):
        return v
    unit = 10.0 ** (math.floor(math.log10(abs(v))) - 3)
    r = float("%.4g" % ((math.ceil(v / unit) if up else math.floor(v / unit)) * unit))
    while (r < v) if up else (r > v):
        r = float("%.4g" % (r + unit if up else r - unit))
    return r


def bound_terms(terms):
    out = {}
    for k, v in terms.items():
        if k == "kinks":   # pairs (distance from the kink, |x~_i|)
            out[k] = [[four_digits(p, up=(j % 2 == 1)) for j, p in enumerate(row)] for row in v]
        elif isinstance(v, list):
            out[k] = [four_digits(p, up=True) for p in v]
        else:
            out[k] = four_digits(v, up=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    spec = json.loads((TOUR / "runs.json").read_text())
    reg_spec, cls_spec = spec["regression"], spec["classification"]
    reg = diabetes(reg_spec)
    cls = digits(cls_spec)
    torch.set_num_threads(1)   # one accumulation order per run, whatever the machine

    out = dict(torch=torch.__version__, about="Written by bench/src/test/python/tour_torch.py; do not edit.",
               dataHashes=dict(
                   diabetesTrain=data_hash(reg["train_x"], reg["train_y"]),
                   diabetesValidation=data_hash(reg["validation_x"], reg["validation_y"]),
                   digitsBalanced=data_hash(*cls["balanced"]), digitsImbalanced=data_hash(*cls["imbalanced"]),
                   digitsValidation=data_hash(*cls["validation"]),
                   initialWeights=data_hash(initial_softmax_weights(cls_spec, 64, 10)),
                   classWeights=data_hash(balanced_weights(cls["imbalanced"][1], 10))),
               runs={})
    for s_, runs in ((reg_spec, reg_spec["runs"]), (cls_spec, cls_spec["runs"])):
        for run in runs:
            single = train(s_, run, reg, cls, torch.float32)
            exact = train(s_, run, reg, cls, torch.float64, bounds=True)
            entry = dict(train=rounded(single["curves"]["train"], 9),
                         validation=rounded(single["curves"]["validation"], 9),
                         exactTrain=rounded(exact["curves"]["train"], 15),
                         exactValidation=rounded(exact["curves"]["validation"], 15),
                         terms=bound_terms(exact["terms"]))
            out["runs"][run["name"]] = entry
            deviation = max(abs(a - e) / abs(e) for a, e in zip(entry["train"], entry["exactTrain"]))
            print("%-24s train %.6f -> %.6f  validation %.6f  float32 vs float64: %.2e relative" % (
                run["name"], entry["train"][0], entry["train"][-1], entry["validation"][-1], deviation))
            if run["name"] == "ce":
                labels = torch.tensor(cls["validation"][1], dtype=torch.int64)
                initial = torch.tensor(initial_softmax_weights(cls_spec, 64, 10), dtype=torch.float32)
                exact_logits = single["vx"].double() @ initial.double()   # the same float32 inputs, float64 sums
                out["diagnostics"] = dict(untrained=diagnostics(single["vx"] @ initial, labels),
                                          untrainedExact=diagnostics(exact_logits, labels),
                                          trained=diagnostics(single["vx"] @ single["w"] + single["b"], labels))
            # PyTorch against itself: the same training with the rows in 4 other orders (context, not a tolerance)
            n = len(reg["train_x"]) if s_ is reg_spec else len(cls[run["data"]][1])
            spread = []
            for seed in range(REORDERINGS):
                curve = train(s_, run, reg, cls, torch.float32, order=shuffled(n, 1000 + seed))
                spread.append(max(abs(a - c) / abs(c) for a, c in zip(curve["curves"]["train"], entry["train"])))
            entry["reorderedSpread"] = max(spread)
            print("%24s rows reordered: %s relative" % ("", " ".join("%.1e" % v for v in spread)))
    path = TOUR / "torch_curves.json.gz"
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:   # reproducible
        f.write((json.dumps(out, separators=(",", ":")) + "\n").encode())
    print("wrote", path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
