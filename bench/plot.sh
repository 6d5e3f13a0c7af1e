#!/bin/sh
# Draws the benchmark sections' tables as PNG plots in bench/plots/, beside
# bench/RESULTS.md: for every $TES_BUILD/bench-SECTION/ratios.csv (job,
# peer, peer_s, tessera_s, ratio, peer_rss_mb, tessera_rss_mb) a bar chart
# of the speed ratio per job, and for every rss.csv (size, tool, rss_mb)
# peak RSS against raster size, one line per tool. Run by bench/run.sh
# after the sections; skipped with a message when gnuplot is missing.
set -eu
B=${TES_BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "plots: gnuplot not installed (gnuplot-nox): skipped"
    exit 0
fi
mkdir -p "$here/plots"
for csv in "$B"/bench-*/ratios.csv; do
    [ -f "$csv" ] || continue
    d=$(dirname "$csv")
    section=${d##*/bench-}
    png="$here/plots/$section-ratios.png"
    gnuplot <<GP
set terminal pngcairo size 900,420 font ",10"
set output "$png"
set datafile separator ","
set title "$section: speed of raster-tool (2 threads) against the peer, peer time / our time"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set yrange [0:*]
set ylabel "times faster"
set xtics rotate by -25 noenhanced
set grid ytics
set key off
plot "$csv" every ::1 using 5:xtic(1) linecolor rgb "#2f6f8f", \
     1 with lines dashtype 2 linecolor rgb "#999999"
GP
    echo "plots: $png"
done
for csv in "$B"/bench-*/rss.csv; do
    [ -f "$csv" ] || continue
    d=$(dirname "$csv")
    section=${d##*/bench-}
    png="$here/plots/$section-rss.png"
    tools=$(tail -n +2 "$csv" | cut -d, -f2 | sort -u)
    plot=""
    for t in $tools; do
        grep ",$t," "$csv" >"$d/.rss-$t"
        plot="$plot${plot:+, }\"$d/.rss-$t\" using (\$1*\$1/1e6):3 with linespoints title \"$t\""
    done
    gnuplot <<GP
set terminal pngcairo size 900,420 font ",10"
set output "$png"
set datafile separator ","
set title "$section: peak RSS against raster size"
set xlabel "raster size (megapixels)"
set ylabel "peak RSS (MB)"
set logscale x 2
set grid
set key left top noenhanced
plot $plot
GP
    rm -f "$d"/.rss-*
    echo "plots: $png"
done
