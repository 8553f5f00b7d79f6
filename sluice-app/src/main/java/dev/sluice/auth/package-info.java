/**
 * Who is calling: gateway keys ({@link dev.sluice.auth.ApiKeys}, stored as hashes) and JWTs
 * ({@link dev.sluice.auth.JwtVerifier}) turned into a {@link dev.sluice.auth.Principal}. Start with
 * {@link dev.sluice.auth.Authenticator}.
 */
package dev.sluice.auth;
