package dev.sluice.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * A TLS server certificate for tests, made by the JDK's own {@code keytool} (no test-only crypto
 * library): a PKCS#12 key store for the server and the certificate as PEM, to trust it with.
 *
 * @param keyStore the server's key and certificate (PKCS#12, password {@link #PASSWORD})
 * @param caPem    the certificate alone, PEM: what a client trusts
 */
public record TestCerts(Path keyStore, Path caPem) {
  public static final String PASSWORD = "secret";

  /** A self-signed certificate for the DNS names given (e.g. {@code localhost}), valid two days. */
  public static TestCerts create(Path dir, String... dnsNames) {
    Path store = dir.resolve("server-" + System.nanoTime() + ".p12");
    Path ca = dir.resolve("ca-" + System.nanoTime() + ".pem");
    StringBuilder san = new StringBuilder("SAN=");
    for (int i = 0; i < dnsNames.length; i++) {
      san.append(i == 0 ? "" : ",").append("dns:").append(dnsNames[i]);
    }
    keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
        "CN=" + dnsNames[0], "-ext", san.toString(), "-validity", "2", "-keystore", store.toString(), "-storetype",
        "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD);
    keytool("-exportcert", "-rfc", "-alias", "server", "-keystore", store.toString(), "-storepass", PASSWORD,
        "-file", ca.toString());
    return new TestCerts(store, ca);
  }

  private static void keytool(String... args) {
    String[] cmd = new String[args.length + 1];
    cmd[0] = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    System.arraycopy(args, 0, cmd, 1, args.length);
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (p.waitFor() != 0) {
        throw new IllegalStateException("keytool " + String.join(" ", args) + " failed: " + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
