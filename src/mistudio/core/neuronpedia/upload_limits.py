"""What Neuronpedia's upload route accepts: the numbers every upload module checks against.

``POST {base}/api/feature/upload-batch`` (header ``x-api-key``; FORMATS §3 "Upload API") takes
``{modelId, source, features: [{index, density?, topLogits?, bottomLogits?, explanations?,
activations}]}``. These limits were read from Neuronpedia's own
``apps/webapp/app/api/feature/upload-batch/route.tsx`` (a yup schema); the one that is not the
route's own, :data:`MAX_BODY_BYTES`, is its host's. They sit apart from the modules that use
them because reading the folder (:data:`MAX_INDEX`), building bodies (the rest) and sending
(:data:`MAX_BODY_BYTES`) all check against them.
"""

from __future__ import annotations

UPLOAD_PATH = "/api/feature/upload-batch"
API_KEY_HEADER = "x-api-key"
MAX_FEATURES_PER_CALL = 128
"""``features: array().min(1).max(128)`` in the route's schema."""
MAX_ACTIVATION_TOKENS = 1024
MAX_LOGITS = 20
MAX_EXPLANATION_CHARS = 512
"""Counted as JavaScript counts a string's length (UTF-16 code units)."""
MAX_INDEX = 10_000_000
MAX_QUANTILE = 99_999_999
MAX_BODY_BYTES = 4_000_000
"""Below Vercel's 4.5 MB request-body limit for functions (neuronpedia.org is deployed there)."""
EMPTY_TOKEN = "\u200b"
"""Stands in for an empty token: yup's ``string().required()`` refuses ``""``."""
