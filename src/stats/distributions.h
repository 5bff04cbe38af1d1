// Thin wrappers over Boost.Math distributions (private to stats/), so that Boost's heavy
// headers are parsed in one translation unit and every caller gets the same policy: no
// promotion of double to long double (4-7x faster, still ~1e-15 relative) and no exceptions.
#pragma once

namespace augur::stats::internal {

double NormalCdf(double z);            // P(Z <= z); accurate deep into the lower tail
double NormalSf(double z);             // P(Z > z), complementary: accurate deep into the upper tail
double NormalQuantile(double p);       // z with P(Z <= z) = p (R's qnorm)
double NormalUpperQuantile(double q);  // z with P(Z > z) = q (qnorm(q, lower.tail = FALSE))
double StudentTCdf(double t, double df);
double StudentTSf(double t, double df);
double StudentTQuantile(double p, double df);

}  // namespace augur::stats::internal
