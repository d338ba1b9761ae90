"""Training: :func:`minigrad.fit` and what it is made of.

- ``fit``: the training loop and its checks; ``trainer``: one step (forward, loss, backward, update);
- ``fused_step``: that step for one Linear layer under MSELoss, X streamed in row blocks when large;
- ``callbacks``, ``convergence``: what runs after each epoch, and the rules that stop training;
- ``history``: the per-epoch numbers fit returns; ``progress``: what ``verbose=1`` shows;
- ``metrics``: accuracy and R²; ``errors``: DivergenceError.

It imports io, optim, nn and backend, never the package root (cli, plot, sklearn, ...).
"""
