/**
 * The admin plane's API and the operator console: {@link dev.sluice.console.AdminApi} (/admin/*: nodes, gateway
 * tokens, cache, degradation), {@link dev.sluice.console.ConsoleFeed} (the console's state and its event stream),
 * {@link dev.sluice.console.Console} (its static pages). Who may call them is decided before they are reached (the
 * server's AdminPlane with its AccessControl); this package sees access only through {@link dev.sluice.console.KeyStore}
 * and a signed-in check. Start with AdminApi.
 */
package dev.sluice.console;
