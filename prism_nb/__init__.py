"""Decoupled explainable recommendation: any ranker, a teacher LLM (the Oracle) and a distilled user-aware student (the Prism), reproducible from notebooks.

Modules:

- `prism_nb.claims`: A claim-level faithfulness judge: an explanation split into claims, each checked against the facts and history its prompt gave, and validated against explanations labelled by reading.
- `prism_nb.cli`: `prism-nb run` chains the stage notebooks with papermill into `reports/<run>/`; `prism-nb explain` asks a trained student for one explanation.
- `prism_nb.data`: Loaders that turn MovieLens-100k (+ Freebase KG), PETER/PEPLER review datasets and Amazon Reviews 2023 into one schema, plus the two things every later stage asks of the data: a user's history and the facts of an item.
- `prism_nb.docs`: The documentation site, built offline from the notebooks: one page per notebook, API pages from the exported docstrings, and the executed runs and their reports.
- `prism_nb.evaluation`: Text-quality, explainability (PETER), faithfulness and personalization metrics for the teacher, the students and baselines on the same test pairs, with bootstrap confidence intervals and paired tests.
- `prism_nb.humaneval`: A blind, randomised A/B/C annotation app for JupyterLab (ipywidgets), crash-safe resumable sessions, and the aggregation of ratings into win rates with confidence intervals and inter-annotator agreement.
- `prism_nb.prism`: A compact student (encoder-decoder or decoder-only) with a learned user embedding, distilled from the Oracle's explanations, resumable training, batched generation and a small `explain(user, item)` API.
- `prism_nb.profiling`: Latency, throughput and peak memory of the teacher and the student, measured side by side under identical settings, on whatever device the run has: the paper's efficiency claim (24x faster, 10x less memory) as a measurement.
- `prism_nb.ranking`: A ranker picks the items that the Oracle (the teacher LLM) explains and the Prism (the student) learns to explain. Any ranker fits behind one small protocol (fit on the training interactions; score every item for a set of users); this stage fits the built-in ones, evaluates them under full ranking, and writes the chosen ranker's top-K for every test user."""

__version__ = "0.1.0"
