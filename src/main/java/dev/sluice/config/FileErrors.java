package dev.sluice.config;

import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** Words for the file errors whose JDK message is only the path. */
public final class FileErrors {
  private FileErrors() {}

  /** "no such file" or "permission denied" for those errors, else {@code null}: the message says it. */
  public static String reason(Throwable e) {
    return e instanceof NoSuchFileException ? "no such file"
        : e instanceof AccessDeniedException ? "permission denied"
        : null;
  }
}
