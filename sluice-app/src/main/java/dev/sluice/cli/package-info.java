/** The {@code sluice} command line (picocli): thin commands over the other packages. Start with {@link dev.sluice.cli.Main}. */
package dev.sluice.cli;
