#!/usr/bin/env bash
# Build llama.cpp's own llama-server (continuous batching, --parallel N slots) from the llama.cpp
# that llama-cpp-python 0.3.36 vendors (ggml-org/llama.cpp@0c1e57098), CPU only, for
# benchmarks/load.py --llama-server. Nothing of the project is rebuilt; the binary goes outside the
# repository. Needs cmake, a C++17 compiler and PyPI (the sdist); takes a while on 2 cores.
#
#     benchmarks/build_llama_server.sh            # -> ~/.cache/rag/llama-server/bin/llama-server
#     PREFIX=/somewhere PYTHON=.venv/bin/python benchmarks/build_llama_server.sh
#     export RAG_LLAMA_SERVER=$PREFIX/bin/llama-server
set -euo pipefail

VERSION=0.3.36
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e  # llama_cpp_python-0.3.36.tar.gz
PYTHON=${PYTHON:-python3}
WORK=${WORK:-/tmp/lcp}
PREFIX=${PREFIX:-$HOME/.cache/rag/llama-server}
JOBS=${JOBS:-2}

mkdir -p "$WORK" "$PREFIX/bin"
sdist="$WORK/llama_cpp_python-$VERSION.tar.gz"
if [ ! -f "$sdist" ]; then
    "$PYTHON" -m pip download "llama-cpp-python==$VERSION" --no-binary :all: --no-deps -d "$WORK"
fi
echo "sha256 $(sha256sum "$sdist")"
echo "$SHA256  $sdist" | sha256sum --check --quiet
rm -rf "$WORK/llama_cpp_python-$VERSION"
tar -xzf "$sdist" -C "$WORK"
src="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"

# No curl, no TLS, no web UI download (LLAMA_USE_PREBUILT_UI would fetch it from Hugging Face):
# the server only ever listens on 127.0.0.1 for the benchmark and the slow test.
cmake -S "$src" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
nice -n 19 cmake --build "$WORK/build" --target llama-server -j "$JOBS"
install -m 755 "$WORK/build/bin/llama-server" "$PREFIX/bin/llama-server"
"$PREFIX/bin/llama-server" --version
echo "built $PREFIX/bin/llama-server"
