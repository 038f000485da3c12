"""Decoupled explainable recommendation: any ranker, a teacher LLM (Oracle), a user-aware distilled student (Prism)

The modules, in the order they build on each other (a module imports only modules above it in this list):

- `prism_nb.core`: settings (each key declared once, in a schema), seeding, devices, crash-safe writes, progress bars.
- `prism_nb.models`: every language model loaded offline first, generation, conversion to CTranslate2 and ONNX Runtime.
- `prism_nb.run_folder`: the stage table, done markers, lock, transactions, set-aside; the papermill runner; status.
- `prism_nb.data`: loaders of ML-100k + KG, PETER and Amazon 2023 into one schema; a user's history, an item's facts.
- `prism_nb.ranking`: the ranker protocol, the built-in rankers, full-ranking metrics, the top-K of every test user.
- `prism_nb.claims`: the faithfulness judge: each claim of a text checked against the facts and history its prompt gave.
- `prism_nb.oracle`: the teacher's prompts, cached batched generation (local or on Ray), retries of unfaithful texts.
- `prism_nb.student`: the student and its user vector, its input and decoding, distillation, cutting to fewer layers.
- `prism_nb.serving`: users as tokens, the student on CTranslate2 and ONNX Runtime GenAI, serving that verifies.
- `prism_nb.prism`: the stage: every student system trained, cut, served on the test pairs; `Prism.explain`.
- `prism_nb.batch`: `explain_file`: a ranking file explained by a served student, streamed, resumable, local or on Ray.
- `prism_nb.evaluation`: text, faithfulness and personalization metrics, bootstrap intervals, paired tests.
- `prism_nb.baselines`: the coupled designs (PETER, a joint student), each ranking every item and explaining.
- `prism_nb.profiling`: latency, throughput and peak memory of the teacher and the students, on each runtime.
- `prism_nb.report`: one page per run: every stage's figures, the paper's claims against the run, `summary.json`.
- `prism_nb.humaneval`: the blind A/B/C annotation app for JupyterLab and the aggregation of its ratings.
- `prism_nb.docs`: the offline docs site: notebook and topic pages, API pages from the docstrings, the runs' reports.
- `prism_nb.cli`: `prism-nb`: its arguments checked and handed to the run folder, explain, judge, export and docs."""

__version__ = "0.1.0"
