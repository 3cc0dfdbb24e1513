// RUN: attnc-opt --attn-gpu-expand-int-math %s | FileCheck %s
// math.absi (which convert-gpu-to-nvvm leaves unconverted) becomes a compare
// and a select, on index and on fixed-width integers; float math is left to
// the libdevice patterns.

// CHECK-LABEL: func.func @abs
// CHECK-NOT: math.absi
// CHECK: %[[Z:.*]] = arith.constant 0 : index
// CHECK: %[[N:.*]] = arith.cmpi slt, %arg0, %[[Z]] : index
// CHECK: %[[F:.*]] = arith.subi %[[Z]], %arg0 : index
// CHECK: arith.select %[[N]], %[[F]], %arg0 : index
// CHECK: arith.cmpi slt, %arg1, %{{.*}} : i32
// CHECK: math.absf
func.func @abs(%x: index, %y: i32, %z: f32) -> (index, i32, f32) {
  %a = math.absi %x : index
  %b = math.absi %y : i32
  %c = math.absf %z : f32
  return %a, %b, %c : index, i32, f32
}
