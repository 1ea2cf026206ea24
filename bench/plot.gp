# plot.gp - the benchmark's picture (gnuplot 5; report.py writes the data).
# gnuplot -e "outdir='bench/out'; title='...'; lo=1; hi=64" bench/plot.gp
#   top:    latency percentiles per scenario, at the lowest and highest
#           in-flight level (log scale: floor and durable writes differ 100x)
#   bottom: throughput against calls in flight; p50 against members
set terminal pngcairo size 1600,1100 font "DejaVu Sans,11" noenhanced
set output outdir."/plot.png"
set multiplot layout 2,2 title title font ",14"

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics mytics
set ylabel "latency, µs (log)"
set key top left
set xtics nomirror
set yrange [10:*]
set title sprintf("latency at %d in flight", lo)
plot outdir."/plot-lat-lo.dat" using 2:xtic(1) title "p50" lc rgb "#4c72b0", \
     '' using 3 title "p90" lc rgb "#55a868", \
     '' using 4 title "p99" lc rgb "#dd8452", \
     '' using 5 title "p99.9" lc rgb "#c44e52"
set title sprintf("latency at %d in flight", hi)
plot outdir."/plot-lat-hi.dat" using 2:xtic(1) title "p50" lc rgb "#4c72b0", \
     '' using 3 title "p90" lc rgb "#55a868", \
     '' using 4 title "p99" lc rgb "#dd8452", \
     '' using 5 title "p99.9" lc rgb "#c44e52"

# one colour per scenario, in report order
set linetype 1 lc rgb "#7f7f7f" lw 2 pt 7
set linetype 2 lc rgb "#1f77b4" lw 2 pt 5
set linetype 3 lc rgb "#2ca02c" lw 2 pt 9
set linetype 4 lc rgb "#d62728" lw 2 pt 7
set linetype 5 lc rgb "#9467bd" lw 2 pt 5
set linetype 6 lc rgb "#ff7f0e" lw 2 pt 9
set style data linespoints
set offsets graph 0.04, graph 0.04, 0, 0
set logscale x 2
set yrange [*:*]
set title "throughput against calls in flight"
set xlabel "calls in flight (log)"
set ylabel "calls/s (log)"
set key bottom right
plot for [i=2:7] outdir."/plot-rate.dat" using 1:i title columnhead(i) lt (i-1)

set logscale x 10
set format x "%.0s%c"
set title "p50 at 1 in flight against members"
set xlabel "members (log)"
set ylabel "p50, µs (log)"
set key outside right top
plot for [i=2:7] outdir."/plot-growth.dat" using 1:i title columnhead(i) lt (i-1)
unset multiplot
