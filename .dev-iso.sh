lib/Python/build-standalone /tmp/attnc-py .devbin/libattnc-s.so.xz > /tmp/build.log 2>&1 || { tail -20 /tmp/build.log; exit 1; }
for a in "contig 64 0" "paged 128 0" "paged 64 5" "paged 64 0" "prefill 64 0" "contig 128 0"; do
  CUDA_LAUNCH_BLOCKING=1 PYTHONPATH=/tmp/attnc-py timeout 60 python3 .dev-iso.py $a 2>&1 | grep -v Warn | tail -2
done
