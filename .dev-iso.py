import os, sys, torch, attnc
EX = "examples"
def run(name, spec, dims, ins):
    try:
        fn = attnc.compile(spec, target="cuda", **dims)
        o = fn(*ins); torch.cuda.synchronize()
        print(name, "ok", torch.isfinite(o).all().item(), flush=True)
    except Exception as e:
        print(name, "FAIL", str(e)[:200], flush=True); sys.exit(0)
which = sys.argv[1]
B, H, Hk, Lq, P, MP, PS = 3, 8, 2, 4, 40, 12, 16
D = int(sys.argv[2])
lens = torch.tensor([MP * PS, int(sys.argv[3]), 77], dtype=torch.int32).cuda()
perm = torch.randperm(P)[:B * MP].view(B, MP).to(torch.int32).cuda()
q = torch.randn(B, H, Lq, D, device="cuda", dtype=torch.bfloat16)
kp = torch.randn(P, PS, Hk, D, device="cuda", dtype=torch.bfloat16)
dec = "anchor row\n  schedule split_kv(64)" if which != "prefill" else "anchor row"
if which == "contig":
    spec = open("bench/decode_gqa.attn").read().replace("anchor row", dec)
    k = torch.randn(B, Hk, MP * PS, D, device="cuda", dtype=torch.bfloat16)
    run(f"contig D{D}", spec, dict(B=B, H=H, Hk=Hk, Lq=Lq, Lk=MP * PS, D=D), (q, k, k))
else:
    spec = open(f"{EX}/11_paged_decode.attn").read().replace("anchor row", dec)
    run(f"paged {which} D{D} len1={sys.argv[3]}", spec, dict(B=B, H=H, Hk=Hk, Lq=Lq, D=D, P=P, MP=MP), (q, kp, kp, perm, lens))
