// A tensor of e4m3 is decoded element by element after it is lowered to
// loops (linalg); the pass refuses it rather than leave an unlowerable op.
// TENSOR: error: 'arith.extf' op attn-expand-float8: an f8E4M3FN extension on 'tensor<4xf8E4M3FN>' (only scalars are decoded; lower tensors first)
func.func @tensor(%x: tensor<4xf8E4M3FN>) -> tensor<4xf32> {
  %y = arith.extf %x : tensor<4xf8E4M3FN> to tensor<4xf32>
  return %y : tensor<4xf32>
}
