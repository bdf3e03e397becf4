"""The frozen IR, numpy only: the input contract, the model and its file
format, and the reference interpreter (the oracle)."""
