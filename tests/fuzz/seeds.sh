#!/bin/sh
# Regenerates the seed corpus of the fuzz harnesses, tests/fuzz/seeds/<name>/,
# with the project's own tools (raster-tool synth and convert; libtiff's
# tiffcp for the layouts and codecs raster-tool does not write: strips,
# planar, PackBits, JPEG, big-endian) and the expressions, colour files,
# weights and command lines of the tests and of raster-tool(1). Small on
# purpose (KBs): libFuzzer grows its own corpus from these.
#
#   sh tests/fuzz/seeds.sh [BUILD]      (BUILD: where raster-tool is; build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
tool="$build/raster-tool"
[ -x "$tool" ] || { echo "seeds.sh: no $tool (run make first)" >&2; exit 1; }
command -v tiffcp >/dev/null || { echo "seeds.sh: tiffcp missing (libtiff-tools)" >&2; exit 1; }
seeds="$here/seeds"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tessera-seeds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
rm -rf "$seeds"
mkdir -p "$seeds/tiff" "$seeds/calc" "$seeds/color" "$seeds/convolve" "$seeds/cli"

# ---- TIFFs ---------------------------------------------------------------
t="$seeds/tiff"
rt() { "$tool" "$@" --quiet; }
rt synth --size 40x30 --tile 16 --relief 250 --holes 0.05 --compress none "$tmp/f32.tif"
cp "$tmp/f32.tif" "$t/f32-tiled-none.tif"
for c in deflate lzw zstd; do
    rt convert --tile 16 --compress "$c" "$tmp/f32.tif" "$t/f32-tiled-$c.tif"
done
rt convert --tile 16 --compress deflate --predictor 3 "$tmp/f32.tif" "$t/f32-tiled-deflate-pred3.tif"
rt convert --tile 16 --compress lzw --predictor 1 "$tmp/f32.tif" "$t/f32-tiled-lzw-pred1.tif"
for ty in uint8 int8 uint16 int16 uint32 int32 float64; do
    rt convert --tile 16 --type "$ty" --compress zstd "$tmp/f32.tif" "$t/$ty-tiled-zstd.tif"
done
rt convert --tile 16 --type int16 --compress deflate --predictor 2 "$tmp/f32.tif" "$t/int16-tiled-deflate-pred2.tif"
rt convert --tile 16 --type uint8 --compress none "$tmp/f32.tif" "$tmp/u8.tif"
rt convert --tile 16 --type uint8 --bands 1,1,1 --compress none "$tmp/f32.tif" "$tmp/rgb.tif"
cp "$tmp/rgb.tif" "$t/uint8x3-tiled-none.tif"
rt convert --tile 16 --bigtiff yes --compress lzw "$tmp/u8.tif" "$t/uint8-bigtiff-lzw.tif"
rt convert --tile 16 --type int16 --bands 1,1 --compress deflate "$tmp/f32.tif" "$t/int16x2-tiled-deflate.tif"
# what raster-tool does not write: strips, planar, other codecs, byte order
# (tiffcp drops the GeoTIFF tags, which it does not know, with a warning)
tiffcp() { command tiffcp "$@" 2>/dev/null; }
tiffcp -s -r 7 -c none "$tmp/f32.tif" "$t/f32-strips-none.tif"
tiffcp -s -r 8 -c zip:3 "$tmp/f32.tif" "$t/f32-strips-deflate-pred3.tif"
tiffcp -s -r 5 -c lzw:2 "$t/int16-tiled-zstd.tif" "$t/int16-strips-lzw-pred2.tif"
tiffcp -s -c zstd "$tmp/u8.tif" "$t/uint8-onestrip-zstd.tif"
tiffcp -s -r 4 -c packbits "$tmp/u8.tif" "$t/uint8-strips-packbits.tif"
tiffcp -t -w 16 -l 16 -c packbits "$tmp/rgb.tif" "$t/uint8x3-tiled-packbits.tif"
tiffcp -p separate -s -r 8 -c none "$tmp/rgb.tif" "$t/uint8x3-planar-strips.tif"
tiffcp -p separate -t -w 16 -l 16 -c zip "$tmp/rgb.tif" "$t/uint8x3-planar-tiled-deflate.tif"
tiffcp -p separate -s -r 6 -c lzw "$tmp/rgb.tif" "$t/uint8x3-planar-strips-lzw.tif"
tiffcp -B -s -r 8 -c none "$tmp/f32.tif" "$t/f32-bigendian-strips.tif"
tiffcp -B -t -w 16 -l 16 -c zip:2 "$t/uint16-tiled-zstd.tif" "$t/uint16-bigendian-tiled-deflate.tif"
tiffcp -8 -s -r 10 -c none "$t/float64-tiled-zstd.tif" "$t/float64-bigtiff-strips.tif"
tiffcp -s -r 8 -c jpeg "$tmp/u8.tif" "$t/uint8-strips-jpeg.tif" 2>/dev/null || echo "seeds.sh: no JPEG in this libtiff"
tiffcp -s -r 8 -c jpeg "$tmp/rgb.tif" "$t/uint8x3-strips-jpeg.tif" 2>/dev/null || true
# a sparse file: a tile with no bytes (GDAL writes these)
tiffcp -t -w 16 -l 16 -c none "$tmp/u8.tif" "$t/uint8-tiled-sparse.tif"
# zero the byte count of tile 0 (the first entry of TileByteCounts, tag 325)
/usr/bin/python3 - "$t/uint8-tiled-sparse.tif" <<'PY' || rm -f "$t/uint8-tiled-sparse.tif"
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
assert b[:4] == b"II*\0"
ifd = struct.unpack_from("<I", b, 4)[0]
n = struct.unpack_from("<H", b, ifd)[0]
for i in range(n):
    tag, typ, cnt, val = struct.unpack_from("<HHII", b, ifd + 2 + 12 * i)
    if tag == 325:
        size = 2 if typ == 3 else 4
        off = ifd + 2 + 12 * i + 8 if cnt * size <= 4 else val
        b[off:off + size] = bytes(size)
open(p, "wb").write(b)
PY

# the kinds GDAL reads beyond plain samples (refused or read, as the reader
# stands): RGB, palette, YCbCr JPEG, 1-bit (PackBits, CCITT G3 and G4,
# dithered), 2- and 4-bit
/usr/bin/python3 - "$tmp" <<'PY'
import struct, sys
d = sys.argv[1]
w, h = 24, 18
rgb = bytes(v for y in range(h) for x in range(w)
            for v in ((x * 11) % 256, (y * 14) % 256, ((x + y) * 5) % 256))
open(d + "/rgb.ppm", "wb").write(b"P6 %d %d 255\n" % (w, h) + rgb)
bits = bytearray()
for y in range(h):
    row = 0
    for x in range(w):
        row = row << 1 | ((x // 3 + y // 2) % 2)
    bits += row.to_bytes(w // 8, "big")
open(d + "/m.pbm", "wb").write(b"P4 %d %d\n" % (w, h) + bytes(bits))
# 2- and 4-bit grey, one strip, uncompressed, little-endian, by hand
def tiff(path, bps, rows):
    data = b"".join(rows)
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, bps), (259, 3, 1, 1),
            (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 3, 1, h),
            (279, 4, 1, len(data))]
    ifd = 8 + len(data)
    out = b"II*\0" + struct.pack("<I", ifd) + data + struct.pack("<H", len(tags))
    for t, ty, n, v in tags:
        out += struct.pack("<HHI", t, ty, n) + (struct.pack("<HH", v, 0) if ty == 3 else struct.pack("<I", v))
    open(path, "wb").write(out + b"\0\0\0\0")
for bps in (2, 4):
    per = 8 // bps
    rows = []
    for y in range(h):
        r = bytearray()
        for x0 in range(0, w, per):
            b = 0
            for x in range(x0, x0 + per):
                b = b << bps | ((x + y) % (1 << bps))
            r.append(b)
        rows.append(bytes(r))
    tiff("%s/grey%d.tif" % (d, bps), bps, rows)
PY
ppm2tiff -c none -r 6 "$tmp/rgb.ppm" "$t/rgb-strips-none.tif" 2>/dev/null
tiffcp -c lzw:2 -t -w 16 -l 16 "$t/rgb-strips-none.tif" "$t/rgb-tiled-lzw-pred2.tif"
tiffmedian -c packbits -r 6 "$t/rgb-strips-none.tif" "$t/palette-strips-packbits.tif" 2>/dev/null
tiffcp -c jpeg -r 16 "$t/rgb-strips-none.tif" "$t/ycbcr-strips-jpeg.tif" 2>/dev/null || true
tiffcp -c jpeg -t -w 16 -l 16 "$t/rgb-strips-none.tif" "$t/ycbcr-tiled-jpeg.tif" 2>/dev/null || true
ppm2tiff "$tmp/m.pbm" "$t/bit1-packbits.tif" 2>/dev/null
tiffcp -c g4 "$t/bit1-packbits.tif" "$t/bit1-g4.tif"
tiffcp -c g3 -r 9 "$t/bit1-packbits.tif" "$t/bit1-g3.tif"
tiffcp -s -c none "$tmp/u8.tif" "$tmp/u8s.tif"
tiffdither "$tmp/u8s.tif" "$t/bit1-dithered.tif" 2>/dev/null || true
cp "$tmp/grey2.tif" "$t/bit2-strip-none.tif"
cp "$tmp/grey4.tif" "$t/bit4-strip-none.tif"

# ---- expressions: byte 0 picks the options (fuzz_calc.c) -------------------
n=0
calc() { n=$((n + 1)); printf '%b%s' "$1" "$2" > "$seeds/calc/$(printf %02d $n)"; }
calc '\001' 'A'
calc '\001' '(B[2] - A) / (B + A) + 1'
calc '\002' 'C > A'
calc '\003' 'A + C * D'
calc '\007' 'C - D'
calc '\000' '(A[3] - A[2]) / (A[3] + A[2])'
calc '\010' 'where(A > 30, 1, 0)'
calc '\000' 'sqrt(abs(A)) * 2'
calc '\001' 'where(isnodata(A) || isnodata(B), 0/0, A - B)'
calc '\000' 'where(isnodata(A), 0/0, (A>100 && A<1500)*A)'
calc '\060' 'where(isnodata(A), 0/0, A*2+1)'
calc '\050' 'where(isnodata(A), 0/0, A/3)'
calc '\000' 'A / 0 * 0'
calc '\000' '2^3^2 + -2^2'
calc '\100' 'min(A, A[2], 7) + max(A[3], -1) % 5'
calc '\200' 'exp(log(abs(A) + 1)) + log10(pow(A, 2)) + atan2(A, A[2])'
calc '\000' 'sin(A) * cos(A) + tan(A) + floor(A) + ceil(A) + round(A)'
calc '\000' 'clamp(A, 0, 255) != 3 == !(A <= 2) >= (A > 1e-3)'
calc '\001' 'A + * B'
calc '\000' '(A + 1) * 2)'
calc '\000' 'A[0]'
calc '\000' 'A[4]'
calc '\000' ''
calc '\070' '1e308 * 10'
calc '\011' 'isnodata(B) + isnodata(A[2])'

# ---- colour files: byte 0 picks the options (fuzz_color.c) ----------------
n=0
color() { n=$((n + 1)); { printf '%b' "$1"; cat; } > "$seeds/color/$(printf %02d $n)"; }
color '\000' < "$here/../../examples/terrain-colors.txt"
color '\010' <<'C'
# elevation R G B [A]
nv 0 0 0 0
0% 40 90 40
500 160 140 90
50% brown
100% white 200
C
color '\024' <<'C'
0,0,0,255
100:255:0:0
200	0	255	0	128
C
color '\001' <<'C'
-10 blue
0 aqua
10 green
10 yellow
20 red
C
color '\002' <<'C'
0 black
255 white
C
color '\210' <<'C'
# COLOR_MODEL = RGB
0 0 0 255 1000 0 255 0
1000 0 255 0 3000 255 255 255
B 0 0 0
F 255 255 255
N 128 128 128
C
color '\040' <<'C'
1 red
2 reed
C
color '\100' <<'C'
/ a comment
nv white
0 gray
C
color '\140' '' </dev/null

# ---- weights: byte 0 bit 0 normalizes, bit 1 float64 (fuzz_convolve.c) ----
n=0
weights() { n=$((n + 1)); printf '%b%s' "$1" "$2" > "$seeds/convolve/$(printf %02d $n)"; }
weights '\001' '1 2 1; 2 4 2; 1 2 1'
weights '\002' '0 -1 0; -1 5 -1; 0 -1 0'
weights '\003' '1,1,1,1,1;1,1,1,1,1;1,1,1,1,1;1,1,1,1,1;1,1,1,1,1'
weights '\000' '-1 0 1'
weights '\001' '1e300 -1e300 1; 0 0 0; 1 1 1'
weights '\000' '1 2; 3 4'
weights '\000' '1 2 3; 4 5'
weights '\000' ''
weights '\002' '0.5'

# ---- command lines, one word a line (fuzz_cli.c's folder holds dem.tif,
# u8.tif, rgb.tif, colors.txt and gmt.cpt) -----------------------------------
n=0
cli() { n=$((n + 1)); printf '%s\n' "$@" > "$seeds/cli/$(printf %02d $n)"; }
cli synth --size 33x17 --seed 7 out.tif
cli synth --size 40x20 --type int16 --holes 0.2 --nodata -1 --octaves 3 --feature 8 --relief 100 out.tif
cli info dem.tif
cli info --json rgb.tif
cli convert --compress zstd --level 9 --tile 16 --type int16 dem.tif o.tif
cli convert --bands 3,2,1 rgb.tif o.tif
cli convert --co COMPRESS=LZW --co PREDICTOR=2 --co BLOCKXSIZE=32 --bigtiff yes u8.tif o.tif
cli hillshade -z 2 dem.tif o.tif
cli hillshade --multidirectional --compute-edges dem.tif o.tif
cli slope --percent --compute-edges dem.tif o.tif
cli aspect --zero-for-flat dem.tif o.tif
cli calc -A dem.tif --expr 'where(A > 30, 1, 0)' --type uint8 o.tif
cli calc -A rgb.tif -B dem.tif --expr '(A[3] - B) * (A[2] + 1)' o.tif
cli calc -A dem.tif '--calc=numpy.where(A > 1000, A, 0)' --outfile=o.tif --type=Float32 --overwrite
cli blur --sigma 2 dem.tif o.tif
cli convolve --kernel '0 -1 0; -1 5 -1; 0 -1 0' dem.tif o.tif
cli stats --json --histogram 20 dem.tif
cli stats --histogram 8 --range 0 100 rgb.tif
cli hillshade -az 200 -alt 30 -compute_edges -co COMPRESS=DEFLATE -q dem.tif o.tif
cli TRI -alg Wilson dem.tif o.tif
cli TPI dem.tif o.tif
cli roughness -of GTiff dem.tif o.tif
cli color-relief --alpha dem.tif colors.txt o.tif
cli color-relief -nearest_color_entry dem.tif gmt.cpt o.tif
cli quicklook --size 32 dem.tif o.png
cli quicklook --colors colors.txt --multiply u8.tif dem.tif o.png
cli quicklook --rgb 3,2,1 --stretch p2-98 rgb.tif o.png
cli slope --trace t.json -j 2 dem.tif o.tif
cli convert missing.tif o.tif
cli hillshade dem.tif dem.tif
cli overviews --min-size 8 -r average dem.tif
cli overviews --external --min-size 16 --stats u8.tif
cli convert --cog --compress zstd dem.tif o.tif
cli hillshade -of COG -co OVERVIEW_RESAMPLING=AVERAGE dem.tif o.tif
cli color-relief -alpha -of COG dem.tif colors.txt o.tif
cli --help
cli synth --help

# ---- dictionaries: the words each parser knows --------------------------------
{
    for w in where min max abs sqrt exp log log10 pow sin cos tan atan2 floor \
        ceil round clamp isnodata '[' ']' '(' ')' '^' '%' '&&' '||' '==' '!=' \
        '<=' '>=' 'A[2]' '0/0' 1e308 nan inf; do
        printf '"%s"\n' "$w"
    done
} > "$here/calc.dict"
{
    for c in $("$tool" --help | sed -n 's/^  \([a-z-]*\) .*/\1/p'); do
        printf '"%s"\n' "$c"
        "$tool" "$c" --help | grep -oE -- '--[a-z][a-z0-9_-]*' | sed 's/.*/"&"/'
    done | sort -u
    for w in dem.tif u8.tif rgb.tif colors.txt gmt.cpt o.tif o.png -az -alt \
        -alg -co -of -q -compute_edges -igor -A -B -b -s -z -j; do
        printf '"%s"\n' "$w"
    done
} > "$here/cli.dict"
echo "seeds: $(find "$seeds" -type f | wc -l) files, $(du -sk "$seeds" | cut -f1) KB"
