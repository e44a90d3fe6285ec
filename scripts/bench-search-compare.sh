#!/usr/bin/env bash
# Catalogue search before and after a change, side by side in one run: builds bench/search from
# REF (a commit or branch; default main) and from the working tree, runs the two in turn RUNS
# times (before-after, then after-before, and so on, so neither always goes first) with the
# same arguments against the same services, and prints every target's p95 per run and the
# after/before ratio of each pair with their median. Run it through `make bench-search-compare`,
# which starts Meilisearch like the tests do.
#
#   make bench-search-compare REF=main ARGS='-clients 8'
#   RUNS=5 make bench-search-compare REF=HEAD~1 ARGS='-clients 8 -apps 10000'
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ref=${REF:-main}
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "building bench/search at $ref (before) and from the working tree (after)" >&2
mkdir -p "$tmp/src"
git archive "$ref" | tar -x -C "$tmp/src"
(cd "$tmp/src" && go build -o "$tmp/before" ./bench/search)
go build -o "$tmp/after" ./bench/search

for ((i = 1; i <= runs; i++)); do
	order=(before after)
	((i % 2 == 0)) && order=(after before)
	for v in "${order[@]}"; do
		echo "=== run $i: $v" >&2
		"$tmp/$v" "$@" | tee "$tmp/$v.$i.out" >&2
	done
done

# Each bench/search table row is: target name, p50, p95, p99, queries/s, CPU/query.
for ((i = 1; i <= runs; i++)); do
	for v in before after; do
		awk -v run="$i" -v ver="$v" '
			/^(portal API on Bleve|portal API on Meilisearch|Meilisearch directly) / {
				p95 = $(NF - 3); sub(/ms$/, "", p95)
				name = $0; sub(/ +[0-9.]+ms.*$/, "", name)
				print run "\t" ver "\t" name "\t" p95
			}' "$tmp/$v.$i.out"
	done
done >"$tmp/p95.tsv"

echo
echo "p95 at the same load, before ($ref) and after (working tree):"
awk -F'\t' '
	{ p[$3, $1, $2] = $4; if (!($3 in seen)) { seen[$3] = 1; names[++n] = $3 } ; if ($1 > runs) runs = $1 }
	END {
		printf "%-28s %s\n", "target", "run: before → after (after/before)"
		for (k = 1; k <= n; k++) {
			t = names[k]; line = ""; m = 0
			for (r = 1; r <= runs; r++) {
				b = p[t, r, "before"]; a = p[t, r, "after"]
				if (b == "" || a == "" || b == 0) continue
				ratio = a / b; rs[++m] = ratio
				line = line sprintf("  %d: %.2f → %.2f ms (%.2f×)", r, b, a, ratio)
			}
			# median of the ratios
			for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++) if (rs[y] < rs[x]) { s = rs[x]; rs[x] = rs[y]; rs[y] = s }
			med = (m % 2) ? rs[(m + 1) / 2] : (rs[m / 2] + rs[m / 2 + 1]) / 2
			printf "%-28s%s   median %.2f×\n", t, line, med
		}
	}' "$tmp/p95.tsv"
