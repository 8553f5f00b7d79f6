package dev.sluice.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;

/**
 * A client request body that passed validation. The raw bytes are forwarded unchanged; the tree is for decisions.
 *
 * @param endpoint which endpoint it came in on
 * @param model the model the client asked for
 * @param stream whether the client expects a stream (SSE or NDJSON)
 * @param json the parsed body
 * @param raw the body exactly as received
 */
public record ParsedRequest(Endpoint endpoint, String model, boolean stream, ObjectNode json, Buffer raw) {}
