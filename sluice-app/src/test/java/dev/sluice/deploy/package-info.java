/**
 * Tests of what ships in deploy/ and the Dockerfile: the nginx config runs in real nginx in front of real replica
 * processes ({@code HaNginxTest}), the systemd units, Kubernetes manifests and Dockerfile agree with the CLI and the
 * gateway ({@code DeployFilesTest}). Start with HaNginxTest.
 */
package dev.sluice.deploy;
