/**
 * Configuration: {@link dev.sluice.config.ConfigLoader} validates a JSON file into an immutable
 * {@link dev.sluice.config.SluiceConfig}, {@link dev.sluice.config.ConfigHolder} swaps snapshots atomically and
 * {@link dev.sluice.config.FileConfigWatcher} reloads on change. Start with ConfigLoader's Javadoc for the file format;
 * each top-level section is read by its own {@code *Section} class.
 */
package dev.sluice.config;
