/**
 * Stream resumption, the pure part: what a stream that broke after its first byte had already given the client, whether
 * it may be continued on another node, the request that continues it, and how the next node's events are spliced so
 * the client sees one stream ({@link dev.sluice.resume.StreamSplice}, one subclass per wire format). No Vert.x, no
 * I/O, no clock: {@code upstream/Exchange} does the sending. Start with StreamSplice; docs/stream-resumption.md has
 * the rules.
 */
package dev.sluice.resume;
