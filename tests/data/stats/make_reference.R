# Reference results from R for Augur's statistics tests.
#
# Usage: Rscript make_reference.R <inputs.json> <out.json>
#
# Normally run by make_reference.py, which writes <inputs.json> (cases with
# x/y samples), reads <out.json>, adds scipy results and writes the final
# reference_cases.json.
#
# Every double in <out.json> is written as a C99 hex-float string
# (sprintf("%a")), or "NA" / "NaN" / "Inf" / "-Inf".  jsonlite 1.8.4 caps
# numeric output at 15 significant digits even with digits = NA or I(17), so
# plain toJSON() numbers do not round-trip; hex strings are bit-exact and the
# Python driver converts them back to doubles.

suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2L) stop("usage: Rscript make_reference.R <inputs.json> <out.json>")
inputs <- fromJSON(args[[1]], simplifyVector = TRUE, simplifyDataFrame = FALSE)

hex <- function(v) {
  v <- as.double(v)
  out <- sprintf("%a", v)
  out[is.na(v) & !is.nan(v)] <- "NA"
  out[is.nan(v)] <- "NaN"
  out[is.infinite(v) & v > 0] <- "Inf"
  out[is.infinite(v) & v < 0] <- "-Inf"
  out
}
hex1 <- function(v) {
  if (is.null(v) || length(v) == 0L) return(NULL)
  stopifnot(length(v) == 1L)
  hex(v)
}

# Evaluate expr, collecting warnings (deduplicated, in order) and an error.
run_capture <- function(expr) {
  warns <- character(0)
  res <- tryCatch(
    withCallingHandlers(
      list(value = expr, error = NULL),
      warning = function(w) {
        warns <<- c(warns, conditionMessage(w))
        invokeRestart("muffleWarning")
      }
    ),
    error = function(e) list(value = NULL, error = conditionMessage(e))
  )
  res$warnings <- unique(warns)
  res
}

alternatives <- c("two.sided", "less", "greater")
alt_name <- function(a) if (a == "two.sided") "two-sided" else a

do_wilcox <- function(x, y, alternative, exact, correct, conf_level) {
  r <- run_capture(wilcox.test(x, y, alternative = alternative, exact = exact,
                               correct = correct, conf.int = TRUE,
                               conf.level = conf_level))
  e <- list(alternative = alt_name(alternative),
            exact = if (is.null(exact)) NULL else exact,
            correct = correct,
            conf_level = hex(conf_level))
  if (!is.null(r$error)) {
    e$error <- r$error
    e$warnings <- I(r$warnings)
    # The failure is normally in the confidence-interval code; record what the
    # same call gives without conf.int so the test/p-value is still checkable.
    r2 <- run_capture(wilcox.test(x, y, alternative = alternative, exact = exact,
                                  correct = correct, conf.int = FALSE))
    e$no_conf_int <- if (!is.null(r2$error)) {
      list(error = r2$error, warnings = I(r2$warnings))
    } else {
      list(statistic = hex1(unname(r2$value$statistic)),
           p_value = hex1(r2$value$p.value),
           method = if (grepl("exact test", r2$value$method, fixed = TRUE)) "exact" else "asymptotic",
           warnings = I(r2$warnings))
    }
    return(e)
  }
  h <- r$value
  e$statistic <- hex1(unname(h$statistic))
  e$p_value <- hex1(h$p.value)
  e$method <- if (grepl("exact test", h$method, fixed = TRUE)) "exact" else "asymptotic"
  e$r_method <- h$method
  e$conf_int <- I(hex(as.double(h$conf.int)))
  e$achieved_conf_level <- hex1(attr(h$conf.int, "conf.level"))
  e$estimate <- hex1(unname(h$estimate))
  e$warnings <- I(r$warnings)
  e
}

do_t <- function(x, y, alternative, conf_level) {
  r <- run_capture(t.test(x, y, alternative = alternative,
                          conf.level = conf_level, var.equal = FALSE))
  e <- list(alternative = alt_name(alternative), conf_level = hex(conf_level))
  if (!is.null(r$error)) {
    e$error <- r$error
    e$warnings <- I(r$warnings)
    return(e)
  }
  h <- r$value
  e$statistic <- hex1(unname(h$statistic))
  e$df <- hex1(unname(h$parameter))
  e$p_value <- hex1(h$p.value)
  e$conf_int <- I(hex(as.double(h$conf.int)))
  est <- unname(h$estimate)
  e$estimate <- hex1(est[[1]] - est[[2]])
  e$warnings <- I(r$warnings)
  e
}

do_ks <- function(x, y, alternative, exact) {
  r <- run_capture(ks.test(x, y, alternative = alternative, exact = exact))
  e <- list(alternative = alt_name(alternative),
            exact = if (is.null(exact)) NULL else exact)
  if (!is.null(r$error)) {
    e$error <- r$error
    e$warnings <- I(r$warnings)
    return(e)
  }
  h <- r$value
  e$statistic <- hex1(unname(h$statistic))
  e$p_value <- hex1(h$p.value)
  e$method <- if (grepl("Exact", h$method, fixed = TRUE)) "exact" else "asymptotic"
  e$r_method <- h$method
  e$warnings <- I(r$warnings)
  e
}

out_cases <- vector("list", length(inputs$cases))
for (ci in seq_along(inputs$cases)) {
  cs <- inputs$cases[[ci]]
  x <- as.double(cs$x)
  y <- as.double(cs$y)
  nx <- length(x); ny <- length(y)
  t0 <- proc.time()[["elapsed"]]

  wil <- list()
  for (a in alternatives) {
    wil[[length(wil) + 1L]] <- do_wilcox(x, y, a, NULL, TRUE, 0.95)
    wil[[length(wil) + 1L]] <- do_wilcox(x, y, a, FALSE, TRUE, 0.95)
    wil[[length(wil) + 1L]] <- do_wilcox(x, y, a, FALSE, FALSE, 0.95)
  }
  for (cl in c(0.90, 0.98, 0.99))
    wil[[length(wil) + 1L]] <- do_wilcox(x, y, "two.sided", NULL, TRUE, cl)
  if (nx < 50 && ny < 50)
    wil[[length(wil) + 1L]] <- do_wilcox(x, y, "two.sided", TRUE, TRUE, 0.95)

  tt <- list()
  for (a in alternatives) tt[[length(tt) + 1L]] <- do_t(x, y, a, 0.95)
  for (cl in c(0.90, 0.99)) tt[[length(tt) + 1L]] <- do_t(x, y, "two.sided", cl)

  ks <- list()
  for (a in alternatives) ks[[length(ks) + 1L]] <- do_ks(x, y, a, NULL)
  ks[[length(ks) + 1L]] <- do_ks(x, y, "two.sided", FALSE)
  if (nx * ny < 10000) ks[[length(ks) + 1L]] <- do_ks(x, y, "two.sided", TRUE)

  # Cross-check for the Python-side Hodges-Lehmann value (skipped when the
  # outer() matrix would be very large).
  hl_r <- if (as.double(nx) * ny <= 2.5e7) hex(median(outer(x, y, "-"))) else NULL

  out_cases[[ci]] <- list(id = cs$id,
                          x_hex = I(hex(x)), y_hex = I(hex(y)),
                          hl_r = hl_r,
                          wilcox = wil, t_test = tt, ks = ks,
                          seconds = proc.time()[["elapsed"]] - t0)
  message(sprintf("[R] %-45s nx=%5d ny=%5d %.2fs", cs$id, nx, ny,
                  out_cases[[ci]]$seconds))
}

out <- list(r_version = R.version.string,
            jsonlite_version = as.character(packageVersion("jsonlite")),
            cases = out_cases)
writeLines(toJSON(out, auto_unbox = TRUE, null = "null", na = "null", digits = NA),
           args[[2]])
