package audit

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
)

// Hash is a SHA-256 digest.
type Hash [32]byte

// LeafHash is RFC 6962's hash of a leaf: SHA-256(0x00 || data).
func LeafHash(data []byte) Hash {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// nodeHash is RFC 6962's hash of an interior node: SHA-256(0x01 || left || right).
func nodeHash(l, r Hash) Hash {
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], l[:])
	copy(buf[33:], r[:])
	return sha256.Sum256(buf[:])
}

// Tree is an append-only RFC 6962 Merkle tree. It keeps the root of every
// complete, aligned subtree, so a tree head or a proof for any size costs
// O(log n) hashes.
type Tree struct {
	levels [][]Hash // levels[0]: leaf hashes; levels[k][i]: subtree of leaves [i·2^k, (i+1)·2^k)
}

// Append adds a leaf, given its data (for the ledger: an event's hash).
func (t *Tree) Append(data []byte) { t.AppendHash(LeafHash(data)) }

// AppendHash adds a leaf given its leaf hash.
func (t *Tree) AppendHash(h Hash) {
	if len(t.levels) == 0 {
		t.levels = [][]Hash{nil}
	}
	t.levels[0] = append(t.levels[0], h)
	for k := 0; len(t.levels[k])%2 == 0; k++ {
		n := len(t.levels[k])
		if k+1 == len(t.levels) {
			t.levels = append(t.levels, nil)
		}
		t.levels[k+1] = append(t.levels[k+1], nodeHash(t.levels[k][n-2], t.levels[k][n-1]))
	}
}

// Size is the number of leaves.
func (t *Tree) Size() uint64 {
	if len(t.levels) == 0 {
		return 0
	}
	return uint64(len(t.levels[0]))
}

// Leaf is the leaf hash at index i.
func (t *Tree) Leaf(i uint64) Hash { return t.levels[0][i] }

// largestPow2Below is the largest power of two smaller than n (n > 1).
func largestPow2Below(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// hashRange is MTH of leaves [lo, hi), lo a multiple of the largest power of
// two not above hi-lo (as every range of the RFC 6962 recursion is).
func (t *Tree) hashRange(lo, hi uint64) Hash {
	n := hi - lo
	if n == 0 {
		return sha256.Sum256(nil)
	}
	if n&(n-1) == 0 && lo%n == 0 {
		k := bits.TrailingZeros64(n)
		return t.levels[k][lo/n]
	}
	k := largestPow2Below(n)
	return nodeHash(t.hashRange(lo, lo+k), t.hashRange(lo+k, hi))
}

// Root is the tree head over the first n leaves.
func (t *Tree) Root(n uint64) (Hash, error) {
	if n > t.Size() {
		return Hash{}, fmt.Errorf("tree head of %d leaves: the tree has %d", n, t.Size())
	}
	return t.hashRange(0, n), nil
}

// InclusionProof is RFC 6962's audit path of leaf m in the tree of n leaves.
func (t *Tree) InclusionProof(m, n uint64) ([]Hash, error) {
	if m >= n || n > t.Size() {
		return nil, fmt.Errorf("inclusion proof of leaf %d in %d leaves: out of range (tree has %d)", m, n, t.Size())
	}
	var path func(m, lo, hi uint64) []Hash
	path = func(m, lo, hi uint64) []Hash {
		if hi-lo == 1 {
			return nil
		}
		k := largestPow2Below(hi - lo)
		if m < k {
			return append(path(m, lo, lo+k), t.hashRange(lo+k, hi))
		}
		return append(path(m-k, lo+k, hi), t.hashRange(lo, lo+k))
	}
	return path(m, 0, n), nil
}

// ConsistencyProof is RFC 6962's proof that the tree of n leaves extends the
// tree of its first m leaves.
func (t *Tree) ConsistencyProof(m, n uint64) ([]Hash, error) {
	if m == 0 || m > n || n > t.Size() {
		return nil, fmt.Errorf("consistency proof from %d to %d leaves: out of range (tree has %d)", m, n, t.Size())
	}
	var sub func(m, lo, hi uint64, whole bool) []Hash
	sub = func(m, lo, hi uint64, whole bool) []Hash {
		if m == hi-lo {
			if whole {
				return nil
			}
			return []Hash{t.hashRange(lo, hi)}
		}
		k := largestPow2Below(hi - lo)
		if m <= k {
			return append(sub(m, lo, lo+k, whole), t.hashRange(lo+k, hi))
		}
		return append(sub(m-k, lo+k, hi, false), t.hashRange(lo, lo+k))
	}
	return sub(m, 0, n, true), nil
}

// ErrProof is returned when a proof does not verify.
var ErrProof = errors.New("proof does not verify")

// VerifyInclusion checks an inclusion proof (RFC 9162, section 2.1.3.2).
func VerifyInclusion(leaf Hash, index, size uint64, proof []Hash, root Hash) error {
	if index >= size {
		return fmt.Errorf("leaf %d of %d: %w", index, size, ErrProof)
	}
	fn, sn, r := index, size-1, leaf
	for _, p := range proof {
		if sn == 0 {
			return fmt.Errorf("proof too long: %w", ErrProof)
		}
		if fn&1 == 1 || fn == sn {
			r = nodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = nodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || r != root {
		return fmt.Errorf("computed root %x, tree head %x: %w", r, root, ErrProof)
	}
	return nil
}

// VerifyConsistency checks a consistency proof between two tree heads
// (RFC 9162, section 2.1.4.2).
func VerifyConsistency(size1, size2 uint64, root1, root2 Hash, proof []Hash) error {
	switch {
	case size1 > size2:
		return fmt.Errorf("tree of %d leaves cannot extend one of %d: %w", size2, size1, ErrProof)
	case size1 == size2:
		if len(proof) == 0 && root1 == root2 {
			return nil
		}
		return fmt.Errorf("same size, different heads: %w", ErrProof)
	case size1 == 0:
		if len(proof) == 0 {
			return nil
		}
		return fmt.Errorf("proof from the empty tree must be empty: %w", ErrProof)
	case len(proof) == 0:
		return fmt.Errorf("empty proof: %w", ErrProof)
	}
	if size1&(size1-1) == 0 {
		proof = append([]Hash{root1}, proof...)
	}
	fn, sn := size1-1, size2-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := proof[0], proof[0]
	for _, c := range proof[1:] {
		if sn == 0 {
			return fmt.Errorf("proof too long: %w", ErrProof)
		}
		if fn&1 == 1 || fn == sn {
			fr, sr = nodeHash(c, fr), nodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = nodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || !bytes.Equal(fr[:], root1[:]) || !bytes.Equal(sr[:], root2[:]) {
		return fmt.Errorf("heads do not match the proof: %w", ErrProof)
	}
	return nil
}

// Frontier is the right edge of an append-only RFC 6962 tree: the roots of
// its complete subtrees, largest first, at most one per size. It gives the
// tree head of everything appended so far in O(log n) memory, which is all
// verification needs: each seal covers every event before it.
type Frontier struct {
	size  uint64
	roots []Hash // roots[i] covers 2^k leaves, k the i-th highest set bit of size
}

// AppendHash adds a leaf given its leaf hash.
func (f *Frontier) AppendHash(h Hash) {
	f.roots = append(f.roots, h)
	// Merge equal subtrees: one per set bit of the new size.
	for n := f.size; n&1 == 1; n >>= 1 {
		last := len(f.roots) - 1
		f.roots = append(f.roots[:last-1], nodeHash(f.roots[last-1], f.roots[last]))
	}
	f.size++
}

// Append adds a leaf, given its data.
func (f *Frontier) Append(data []byte) { f.AppendHash(LeafHash(data)) }

// Size is the number of leaves.
func (f *Frontier) Size() uint64 { return f.size }

// Root is the tree head over every leaf appended: RFC 6962's MTH, whose left
// subtree is always the largest power of two below the size.
func (f *Frontier) Root() Hash {
	if f.size == 0 {
		return sha256.Sum256(nil)
	}
	r := f.roots[len(f.roots)-1]
	for i := len(f.roots) - 2; i >= 0; i-- {
		r = nodeHash(f.roots[i], r)
	}
	return r
}
