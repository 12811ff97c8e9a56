package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

// The reference tree of RFC 6962 implementations (Certificate Transparency).
var ctLeaves = []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}

var ctRoots = []string{
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

func h(s string) Hash {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		panic(s)
	}
	return Hash(b)
}

func ctTree() *Tree {
	t := &Tree{}
	for _, l := range ctLeaves {
		b, _ := hex.DecodeString(l)
		t.Append(b)
	}
	return t
}

func TestTree_RFC6962Roots(t *testing.T) {
	tree := ctTree()
	for n := range ctRoots {
		r, err := tree.Root(uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(r[:]) != ctRoots[n] {
			t.Errorf("root of %d leaves: %x, want %s", n, r, ctRoots[n])
		}
	}
}

func TestTree_RFC6962Proofs(t *testing.T) {
	tree := ctTree()
	inclusion := []struct {
		index, size uint64
		path        []string
	}{
		{0, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{5, 8, []string{"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
		{2, 3, []string{"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
		{1, 5, []string{"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	}
	for _, v := range inclusion {
		got, err := tree.InclusionProof(v.index, v.size)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(v.path) {
			t.Fatalf("path of %d in %d: %d hashes, want %d", v.index, v.size, len(got), len(v.path))
		}
		for i := range got {
			if got[i] != h(v.path[i]) {
				t.Errorf("path of %d in %d, step %d: %x, want %s", v.index, v.size, i, got[i], v.path[i])
			}
		}
		if err := VerifyInclusion(tree.Leaf(v.index), v.index, v.size, got, h(ctRoots[v.size])); err != nil {
			t.Errorf("verify %d in %d: %v", v.index, v.size, err)
		}
	}
	consistency := []struct {
		m, n  uint64
		proof []string
	}{
		{1, 1, nil},
		{1, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{6, 8, []string{"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
		{2, 5, []string{"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	}
	for _, v := range consistency {
		got, err := tree.ConsistencyProof(v.m, v.n)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(v.proof) {
			t.Fatalf("consistency %d→%d: %d hashes, want %d", v.m, v.n, len(got), len(v.proof))
		}
		for i := range got {
			if got[i] != h(v.proof[i]) {
				t.Errorf("consistency %d→%d, step %d: %x, want %s", v.m, v.n, i, got[i], v.proof[i])
			}
		}
		if err := VerifyConsistency(v.m, v.n, h(ctRoots[v.m]), h(ctRoots[v.n]), got); err != nil {
			t.Errorf("verify consistency %d→%d: %v", v.m, v.n, err)
		}
	}
}

// Every proof of every tree up to 70 leaves verifies, and a changed one does not.
func TestTree_ProofsRoundTrip(t *testing.T) {
	tree := &Tree{}
	for i := 0; i < 70; i++ {
		tree.Append([]byte{byte(i), byte(i * 7)})
	}
	for n := uint64(1); n <= 70; n++ {
		root, _ := tree.Root(n)
		for m := uint64(0); m < n; m++ {
			p, _ := tree.InclusionProof(m, n)
			if err := VerifyInclusion(tree.Leaf(m), m, n, p, root); err != nil {
				t.Fatalf("inclusion %d/%d: %v", m, n, err)
			}
			if len(p) > 0 {
				p[0][0] ^= 1
				if err := VerifyInclusion(tree.Leaf(m), m, n, p, root); !errors.Is(err, ErrProof) {
					t.Fatalf("a changed proof verified")
				}
			}
			if m == 0 {
				continue
			}
			r1, _ := tree.Root(m)
			c, _ := tree.ConsistencyProof(m, n)
			if err := VerifyConsistency(m, n, r1, root, c); err != nil {
				t.Fatalf("consistency %d→%d: %v", m, n, err)
			}
			other := r1
			other[0] ^= 1
			if err := VerifyConsistency(m, n, other, root, c); err == nil {
				t.Fatalf("consistency %d→%d verified a wrong head", m, n)
			}
		}
	}
}

// The frontier's head equals the full tree's at every size.
func TestFrontier_RootEqualsTheTrees(t *testing.T) {
	var tree Tree
	var f Frontier
	if f.Root() != sha256.Sum256(nil) {
		t.Fatal("empty frontier")
	}
	for i := range 300 {
		leaf := []byte{byte(i), byte(i >> 8)}
		tree.Append(leaf)
		f.Append(leaf)
		want, err := tree.Root(tree.Size())
		if err != nil {
			t.Fatal(err)
		}
		if f.Size() != tree.Size() || f.Root() != want {
			t.Fatalf("size %d: frontier head %x, tree head %x", f.Size(), f.Root(), want)
		}
		if len(f.roots) > 9 {
			t.Fatalf("size %d: %d roots kept", f.Size(), len(f.roots))
		}
	}
}
