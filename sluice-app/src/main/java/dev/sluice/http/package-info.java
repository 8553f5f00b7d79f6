/**
 * HTTP answers the gateway writes itself, shared by the data plane ({@code server}) and the admin plane and console
 * ({@code console}): {@link dev.sluice.http.Responses}.
 */
package dev.sluice.http;
