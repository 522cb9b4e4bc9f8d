"""Exit 0 when the installed llama.cpp writes a token with the tiny test model, non-zero otherwise
(a wheel compiled for instructions this machine cannot run dies with a signal; a prompt of a few
dozen tokens, since a one-token prompt does not reach the matrix kernels). make setup runs this
and rebuilds llama-cpp-python when it fails."""

import llama_cpp

from rag.models import resolve_model

llm = llama_cpp.Llama(model_path=resolve_model("smollm2-135m"), n_ctx=128, verbose=False)
llm.create_completion("Say hello. " * 20, max_tokens=1, temperature=0)
