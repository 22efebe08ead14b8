"""The local inference engine: llama.cpp's own server (xllamacpp), a supervised program on loopback."""
