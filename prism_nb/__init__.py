"""Decoupled explainable recommendation: any ranker, a teacher LLM (the Oracle) and a distilled user-aware student (the Prism), reproducible from notebooks.

Modules:

- `prism_nb.ranking`: A ranker picks the items that the Oracle (the teacher LLM) explains and the Prism (the student) learns to explain. Any ranker fits behind one small protocol (fit on the training interactions; score every item for a set of users); this stage fits the built-in ones, evaluates them under full ranking, and writes the chosen ranker's top-K for every test user."""

__version__ = "0.1.0"
