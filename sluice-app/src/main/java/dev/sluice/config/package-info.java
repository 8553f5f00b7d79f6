/**
 * Configuration: {@link dev.sluice.config.ConfigLoader} validates a JSON file into an immutable
 * {@link dev.sluice.config.SluiceConfig}, {@link dev.sluice.config.ConfigHolder} swaps snapshots atomically and
 * {@link dev.sluice.config.FileConfigWatcher} reloads on change. Start with ConfigLoader's Javadoc for the file format.
 */
package dev.sluice.config;
