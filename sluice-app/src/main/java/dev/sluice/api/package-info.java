/**
 * Wire contracts of the two client APIs: the path allow-list ({@link dev.sluice.api.Endpoint}), path normalisation,
 * request validation, and error bodies in each API's own format ({@link dev.sluice.api.ApiFlavor}). Start with Endpoint.
 */
package dev.sluice.api;
