// Used by paged-kernel.mlir: a page size the kernel's TMA boxes cannot take.
// CHECK: GPU kernel: paged K/V needs a static page size that is a power of two from 8 to 256, got 48
func.func @paged(%q: tensor<?x?x?x128xbf16>, %kp: tensor<?x48x?x128xbf16>, %vp: tensor<?x48x?x128xbf16>,
                 %table: tensor<?x?xi32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %kp, %vp extras(%table : tensor<?x?xi32>) {kv_pages = #attn.kv_pages<table = 0, layout = nhd>, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x48x?x128xbf16>, tensor<?x48x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
