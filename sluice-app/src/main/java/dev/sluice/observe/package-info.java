/** What the gateway tells operators: the per-request record, the access log and the console's statistics. */
package dev.sluice.observe;
