"""Gemini on Vertex AI for llmhub.

API reference: https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rpc/google.cloud.aiplatform.v1#predictionservice
(`PredictionService.GenerateContent` / `StreamGenerateContent`), models:
https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/publishers.models/list

This module is what discovery imports: it names the provider and the
variables it reads, and imports nothing of Google's. The SDK
(google-cloud-aiplatform, heavy to import: see the README's cold-import table) is loaded by
`llmhub_gemini._client` the first time the provider is used.
"""

from __future__ import annotations

from llmhub import BaseProvider, hookimpl

from ._provider import GeminiProvider

__all__ = ["GeminiProvider", "llmhub_providers"]


@hookimpl
def llmhub_providers() -> list[type[BaseProvider]]:
    """The providers of this plugin."""
    return [GeminiProvider]
