/** Cross-cutting basics: the one ObjectMapper ({@link dev.sluice.support.Json}) and small helpers. Start with Json. */
package dev.sluice.support;
