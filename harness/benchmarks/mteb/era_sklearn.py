"""scikit-learn as the 2022-23 evaluation code ran it (sklearn 1.1), on today's scipy and scikit-learn.

Both era codebases fitted `LogisticRegression(max_iter=100)` and `MiniBatchKMeans(n_clusters, batch_size=500)`
with sklearn 1.0-1.3. Today's sklearn computes other numbers from the same calls:

- Logistic regression: since sklearn 1.4 (PR #26721) the lbfgs objective is divided by the number of samples, so
  the solver's gradient tolerance stops it at other coefficients (all-MiniLM-L6-v2 on Emotion: 40.83 against
  40.85 with the 2022 objective; other predictions on 0-11 of 2,000 test texts per experiment).
  `fit_logreg`/`predict_logreg` minimise sklearn 1.1's objective exactly as its `_logistic_regression_path` did:
  sum of per-sample losses + ||w||^2 / 2C with an unpenalised intercept, float64, the (classes x features+1)
  parameters ravelled in Fortran order from zeros, scipy's L-BFGS-B with only `gtol=tol, maxiter=max_iter`;
  two classes fit one binomial vector (multi_class="auto" chose "ovr"), more fit the multinomial loss.
  Checked against sklearn 1.1.3 on the real Banking77 and Emotion training sets: every prediction and every
  iteration count equal, under scipy 1.9.3 and 1.17.
- MiniBatchKMeans: since sklearn 1.3 the first k-means++ centre and the minibatches are drawn with
  `choice(n, p=weights)` instead of `randint`, so the same seed gives other clusters. `EraRandomState` answers
  those uniform-weight draws as `randint`, which with `n_init=3` (1.1's default) reproduces 1.1.3's labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import expit, logsumexp

LOGREG_TOL = 1e-4  # LogisticRegression's default, then and now
KMEANS_N_INIT = 3  # MiniBatchKMeans' default until sklearn 1.4


class EraRandomState(np.random.RandomState):
    """A RandomState whose uniform-weight `choice(n, size, p=...)` draws what sklearn 1.1's `randint` drew."""

    def choice(self, a: Any, size: Any = None, replace: bool = True, p: Any = None) -> Any:
        if p is not None and replace and np.ndim(a) == 0 and np.all(p == p[0]):
            return self.randint(0, a, size) if size is not None else self.randint(a)
        return super().choice(a, size=size, replace=replace, p=p)


def kmeans_labels(embeddings: np.ndarray, n_clusters: int, seed: int, batch_size: int = 500) -> np.ndarray:
    """`MiniBatchKMeans(n_clusters, batch_size=500).fit(X).labels_` under sklearn 1.1 with np.random seeded `seed`."""
    from sklearn.cluster import MiniBatchKMeans

    model = MiniBatchKMeans(
        n_clusters=n_clusters, batch_size=batch_size, n_init=KMEANS_N_INIT, random_state=EraRandomState(seed)
    )
    return np.asarray(model.fit(embeddings).labels_)


class LogReg:
    """A fitted 2022-era logistic regression: its classes and its raw parameter vector."""

    def __init__(self, classes: np.ndarray, weights: np.ndarray, iterations: int) -> None:
        self.classes, self.weights, self.iterations = classes, weights, iterations

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.classes.size == 2:
            return self.classes[(x @ self.weights[:-1] + self.weights[-1] > 0).astype(int)]
        w = self.weights.reshape((self.classes.size, -1), order="F")
        return self.classes[np.argmax(x @ w[:, :-1].T + w[:, -1], axis=1)]


def fit_logreg(x: np.ndarray, y: np.ndarray, c: float = 1.0, max_iter: int = 100) -> LogReg:
    """sklearn 1.1's `LogisticRegression(C=c, max_iter=max_iter).fit(x, y)` (lbfgs, intercept, L2)."""
    x = np.asarray(x, dtype=np.float64)
    classes = np.unique(y)
    n, d = x.shape
    if classes.size == 2:
        target = (np.asarray(y) == classes[1]).astype(np.float64)

        def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
            raw = x @ w[:-1] + w[-1]
            loss = np.sum(np.logaddexp(0.0, raw) - target * raw) + 0.5 / c * (w[:-1] @ w[:-1])
            residual = expit(raw) - target
            grad = np.empty_like(w)
            grad[:-1] = x.T @ residual + w[:-1] / c
            grad[-1] = residual.sum()
            return float(loss), grad

        start = np.zeros(d + 1)
    else:
        k = classes.size
        index = np.searchsorted(classes, y)
        onehot = np.zeros((n, k))
        onehot[np.arange(n), index] = 1.0

        def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
            coef = w.reshape((k, -1), order="F")
            raw = x @ coef[:, :-1].T + coef[:, -1]
            norm = logsumexp(raw, axis=1)
            loss = np.sum(norm - raw[np.arange(n), index]) + 0.5 / c * np.sum(coef[:, :-1] ** 2)
            residual = np.exp(raw - norm[:, None]) - onehot
            grad = np.empty_like(coef)
            grad[:, :-1] = residual.T @ x + coef[:, :-1] / c
            grad[:, -1] = residual.sum(axis=0)
            return float(loss), grad.ravel(order="F")

        start = np.zeros((k, d + 1), order="F").ravel(order="F")
    result = optimize.minimize(
        objective, start, method="L-BFGS-B", jac=True, options={"gtol": LOGREG_TOL, "maxiter": max_iter}
    )
    return LogReg(classes, result.x, int(result.nit))
