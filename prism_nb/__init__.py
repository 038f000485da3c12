"""Decoupled explainable recommendation: any ranker, a teacher LLM (the Oracle) and a distilled user-aware student (the Prism), reproducible from notebooks.

Modules:

- `prism_nb.cli`: `prism-nb run` chains the stage notebooks with papermill into `reports/<run>/`; `prism-nb explain` asks a trained student for one explanation.
- `prism_nb.data`: Loaders that turn MovieLens-100k (+ Freebase KG), PETER/PEPLER review datasets and Amazon Reviews 2023 into one schema, plus the two things every later stage asks of the data: a user's history and the facts of an item."""

__version__ = "0.1.0"
