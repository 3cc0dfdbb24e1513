// RUN: attnc-opt %s --attn-destination-abi | FileCheck %s
// Tensor functions become memref functions that write into output buffers.

// CHECK-LABEL: func.func @f(%arg0: memref<2x3xf32>, %arg1: memref<2x3xf32>) attributes {llvm.emit_c_interface}
// CHECK: %[[T:.*]] = bufferization.to_tensor %arg0 restrict : memref<2x3xf32> to tensor<2x3xf32>
// CHECK: %[[R:.*]] = math.exp %[[T]]
// CHECK: bufferization.materialize_in_destination %[[R]] in restrict writable %arg1
// CHECK: return{{$}}
func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = math.exp %x : tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// The results' attributes (the variant's output names) move to their buffers.
// CHECK-LABEL: func.func @named(%arg0: memref<4xf32> {attnc.name = "x"}, %arg1: memref<4xf32> {attnc.name = "y"}) attributes {attnc.dims = [], llvm.emit_c_interface}
func.func @named(%x: tensor<4xf32> {attnc.name = "x"}) -> (tensor<4xf32> {attnc.name = "y"}) attributes {attnc.dims = []} {
  %r = math.exp %x : tensor<4xf32>
  return %r : tensor<4xf32>
}
