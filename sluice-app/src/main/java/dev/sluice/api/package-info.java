/**
 * Wire contracts of the client APIs: the path allow-list ({@link dev.sluice.api.Endpoint}), one
 * {@link dev.sluice.api.Dialect} per endpoint that knows its paths, request specifics, answers, stream rendering and
 * usage ({@code OpenAiChat}, {@code OllamaGenerate}, ...; the two API families share error shape and framing in
 * {@code OpenAiDialect} and {@code OllamaDialect}), path normalisation and request validation. Start with Endpoint, then
 * Dialect.
 */
package dev.sluice.api;
