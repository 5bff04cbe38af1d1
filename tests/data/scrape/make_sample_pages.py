#!/usr/bin/env python3
"""Writes the ingress-nginx and Envoy sample pages used by tests/sources/scrape_test.cc: two
scrapes of each, 10 s apart, in the exporters' own shapes (ingress-nginx controller v1.x text
0.0.4; Envoy /stats/prometheus text 0.0.4, plus an OpenMetrics variant with _total names as a
client that negotiates OpenMetrics gets them). The deltas between the scrapes are chosen so the
expected values in the test can be checked by hand. The canary's 500 series first appears in the
second ingress-nginx scrape, as ingress-nginx creates series at their first event.
The HAProxy pages (haproxy_2.6_scrape{1,2}.txt) are real: HAProxy 2.6.12's exporter
(?scope=server&scope=backend) on loopback, before and after sending traffic to a primary and a
canary that fails every 10th request."""
import os
HERE = os.path.dirname(os.path.abspath(__file__))

NB = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
common = 'controller_class="k8s.io/ingress-nginx",controller_namespace="ingress-nginx",controller_pod="ingress-nginx-controller-7d9f8c6b5-x2k4p",host="app.example.com",method="GET",namespace="default",path="/"'


def nginx(page):
    L = []
    L.append("# HELP nginx_ingress_controller_requests The total number of client requests")
    L.append("# TYPE nginx_ingress_controller_requests counter")
    reqs = [("app", "", "app", "200", 1000, 1190), ("app", "", "app", "404", 20, 30),
            ("app", "", "app", "503", 5, 5), ("app-canary", "default-app-canary-80", "app-canary", "200", 100, 118),
            ("app-canary", "default-app-canary-80", "app-canary", "500", None, 2)]
    for ing, canary, svc, st, v1, v2 in reqs:
        v = v1 if page == 1 else v2
        if v is None:
            continue
        L.append(f'nginx_ingress_controller_requests{{canary="{canary}",{common},ingress="{ing}",service="{svc}",status="{st}"}} {v}')
    L.append("# HELP nginx_ingress_controller_request_duration_seconds The request processing time in milliseconds")
    L.append("# TYPE nginx_ingress_controller_request_duration_seconds histogram")
    hists = [
        ("app", "", "app", "200",
         [200, 600, 1500, 2500, 2900, 2990, 3000, 3000, 3000, 3000, 3000, 3000], 150.0,
         [10, 40, 120, 180, 196, 200, 200, 200, 200, 200, 200, 200], 9.0),
        ("app-canary", "default-app-canary-80", "app-canary", "200",
         [1, 3, 10, 30, 60, 85, 95, 99, 100, 100, 100, 100], 12.5,
         [0, 0, 2, 6, 12, 16, 18, 18, 18, 18, 18, 18], 2.0),
        ("app-canary", "default-app-canary-80", "app-canary", "500",
         None, None, [0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2], 1.6),
    ]
    for ing, canary, svc, st, base, bsum, delta, dsum in hists:
        if page == 1 and base is None:
            continue
        counts = base if page == 1 else [(b or 0) + d for b, d in zip(base or [0] * 12, delta)]
        total = bsum if page == 1 else (bsum or 0) + dsum
        lab = f'canary="{canary}",{common},ingress="{ing}",service="{svc}",status="{st}"'
        for le, c in zip(NB, counts):
            L.append(f'nginx_ingress_controller_request_duration_seconds_bucket{{{lab},le="{le}"}} {c}')
        L.append(f'nginx_ingress_controller_request_duration_seconds_sum{{{lab}}} {total:g}')
        L.append(f'nginx_ingress_controller_request_duration_seconds_count{{{lab}}} {counts[-1]}')
    L.append("# HELP nginx_ingress_controller_nginx_process_connections current number of client connections with state {active, reading, writing, waiting}")
    L.append("# TYPE nginx_ingress_controller_nginx_process_connections gauge")
    L.append('nginx_ingress_controller_nginx_process_connections{controller_class="k8s.io/ingress-nginx",controller_namespace="ingress-nginx",controller_pod="ingress-nginx-controller-7d9f8c6b5-x2k4p",state="active"} 3')
    return "\n".join(L) + "\n"


EB = ["0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000", "30000", "60000", "300000", "600000", "1800000", "3600000", "+Inf"]


def envoy(page, openmetrics=False):
    L = []
    sfx = "_total" if openmetrics else ""
    L.append("# TYPE envoy_cluster_upstream_rq_xx counter")
    xx = [("primary", "2", 5000, 5300), ("primary", "4", 50, 60), ("primary", "5", 10, 10),
          ("canary", "2", 500, 527), ("canary", "4", 0, 0), ("canary", "5", 3, 6)]
    for c, cls, v1, v2 in xx:
        L.append(f'envoy_cluster_upstream_rq_xx{sfx}{{envoy_response_code_class="{cls}",envoy_cluster_name="{c}"}} {v1 if page == 1 else v2}')
    L.append("# TYPE envoy_cluster_upstream_rq counter")
    codes = [("primary", "200", 5000, 5300), ("primary", "404", 50, 60), ("primary", "503", 10, 10),
             ("canary", "200", 500, 527), ("canary", "503", 3, 6)]
    for c, code, v1, v2 in codes:
        L.append(f'envoy_cluster_upstream_rq{sfx}{{envoy_response_code="{code}",envoy_cluster_name="{c}"}} {v1 if page == 1 else v2}')
    L.append("# TYPE envoy_cluster_upstream_rq_total counter" if not openmetrics else "# TYPE envoy_cluster_upstream_rq_completed counter")
    if not openmetrics:
        L.append(f'envoy_cluster_upstream_rq_total{{envoy_cluster_name="canary"}} {503 if page == 1 else 533}')
    else:
        L.append(f'envoy_cluster_upstream_rq_completed_total{{envoy_cluster_name="canary"}} {503 if page == 1 else 533}')
    L.append("# TYPE envoy_cluster_membership_healthy gauge")
    for c in ("primary", "canary"):
        L.append(f'envoy_cluster_membership_healthy{{envoy_cluster_name="{c}"}} 1')
    L.append("# TYPE envoy_cluster_upstream_rq_time histogram")
    hists = [("primary", [0, 0, 1000, 2500, 4500, 4990, 5040, 5055, 5060] + [5060] * 11, 70000,
              [0, 0, 100, 250, 340, 360] + [360] * 14, 7200),
             ("canary", [0, 2, 40, 120, 300, 420, 480, 500, 503] + [503] * 11, 20000,
              [0, 0, 3, 9, 18, 24, 27, 29, 30] + [30] * 11, 1500)]
    for c, base, bsum, delta, dsum in hists:
        counts = base if page == 1 else [b + d for b, d in zip(base, delta)]
        for le, n in zip(EB, counts):
            L.append(f'envoy_cluster_upstream_rq_time_bucket{{envoy_cluster_name="{c}",le="{le}"}} {n}')
        L.append(f'envoy_cluster_upstream_rq_time_sum{{envoy_cluster_name="{c}"}} {bsum if page == 1 else bsum + dsum}')
        L.append(f'envoy_cluster_upstream_rq_time_count{{envoy_cluster_name="{c}"}} {counts[-1]}')
    if openmetrics:
        L.append("# EOF")
    return "\n".join(L) + "\n"


for p in (1, 2):
    for name, text in ((f"nginx_ingress_scrape{p}.txt", nginx(p)), (f"envoy_scrape{p}.txt", envoy(p)),
                       (f"envoy_openmetrics_scrape{p}.txt", envoy(p, True))):
        with open(os.path.join(HERE, name), "w") as f:
            f.write(text)
