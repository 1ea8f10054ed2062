package netskope

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// rng is splitmix64: tiny, fast and good enough for test data. Every record
// gets its own generator seeded from (tenant seed, endpoint, record index),
// so a record's content never depends on how generation was batched.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// mix64 is the splitmix64 finaliser, a bijection on uint64.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int(r.next() % uint64(n))
}

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// optionalShare is the probability that a non-core dictionary field is
// present in a generated record.
const optionalShare = 0.5

var (
	firstNames = []string{"maria", "james", "aiko", "li", "fatima", "olivia", "noah", "ines", "raj", "sofia", "lucas", "amara", "ethan", "yara", "mateo", "chloe"}
	lastNames  = []string{"garcia", "smith", "tanaka", "wang", "khan", "brown", "muller", "rossi", "patel", "silva", "nguyen", "okafor"}
	userDomain = "example.com"
	hexDigits  = "0123456789abcdef"
	// firstOctets keep generated addresses public-looking.
	firstOctets = []int{13, 20, 34, 52, 74, 81, 89, 104, 142, 151, 185, 203}
)

func userName(i int) string {
	return firstNames[i%len(firstNames)] + "." + lastNames[(i/len(firstNames))%len(lastNames)]
}

const userPool = 96

// genCtx carries the per-record values several fields share.
type genCtx struct {
	r       rng
	ts, ins int64
	user    int
	omit    map[string]bool // top-level fields left out (Generator.Omit)
}

// generated is one freshly generated record.
type generated struct {
	raw []byte
	id  string
	ts  int64
}

// generate builds record number idx of an endpoint. prefix is the
// endpoint's 32-bit id prefix; seedMix mixes the tenant seed into ids. The
// top-level fields of omit are left out (their values are still drawn, so the
// other fields do not change); a record without _id has the id "".
func (ts *typeSpec) generate(r rng, idx uint64, prefix uint32, seedMix uint64, ins, maxLagSec int64, omit map[string]bool, buf []byte) generated {
	ctx := genCtx{r: r, ins: ins, ts: ins, omit: omit}
	if maxLagSec > 0 {
		ctx.ts = ins - int64(ctx.r.intn(int(maxLagSec)+1))
	}
	ctx.user = ctx.r.intn(userPool)
	v := ts.variants[0]
	if len(ts.variants) > 1 {
		w := ctx.r.intn(ts.total)
		for _, cand := range ts.variants {
			if w < cand.def.weight {
				v = cand
				break
			}
			w -= cand.def.weight
		}
	}
	var id [24]byte
	p := prefix
	for i := 7; i >= 0; i-- {
		id[i] = hexDigits[p&15]
		p >>= 4
	}
	x := mix64(idx ^ seedMix)
	for i := 23; i >= 8; i-- {
		id[i] = hexDigits[x&15]
		x >>= 4
	}
	buf = append(buf, '{')
	buf = writeFields(buf, v.fields, &ctx, id[:], true)
	buf = append(buf, '}')
	g := generated{raw: buf, id: string(id[:]), ts: ctx.ts}
	if omit["_id"] {
		g.id = ""
	}
	return g
}

func writeFields(buf []byte, fields []*fieldSpec, ctx *genCtx, id []byte, top bool) []byte {
	first := true
	for _, f := range fields {
		if !f.core && ctx.r.float() >= optionalShare {
			continue
		}
		mark := len(buf)
		if !first {
			buf = append(buf, ',')
		}
		buf = append(buf, f.key...)
		if f.kind == fkGroup {
			before := len(buf)
			buf = append(buf, '{')
			buf = writeFields(buf, f.children, ctx, id, false)
			if len(buf) == before+1 { // no child chosen: leave the group out
				buf = buf[:mark]
				continue
			}
			buf = append(buf, '}')
		} else {
			buf = writeValue(buf, f, ctx, id)
		}
		if top && ctx.omit[f.name] {
			buf = buf[:mark]
			continue
		}
		first = false
	}
	return buf
}

func writeValue(buf []byte, f *fieldSpec, ctx *genCtx, id []byte) []byte {
	r := &ctx.r
	switch f.kind {
	case fkID:
		buf = append(buf, '"')
		buf = append(buf, id...)
		return append(buf, '"')
	case fkTimestamp:
		return strconv.AppendInt(buf, ctx.ts, 10)
	case fkInsertion:
		return strconv.AppendInt(buf, ctx.ins, 10)
	case fkConst:
		return append(buf, f.constant...)
	case fkUser:
		buf = append(buf, '"')
		buf = append(buf, userName(ctx.user)...)
		buf = append(buf, '@')
		buf = append(buf, userDomain...)
		return append(buf, '"')
	case fkUserLocal:
		buf = append(buf, '"')
		buf = append(buf, userName(ctx.user)...)
		return append(buf, '"')
	case fkIP:
		buf = append(buf, '"')
		buf = strconv.AppendInt(buf, int64(firstOctets[r.intn(len(firstOctets))]), 10)
		for i := 0; i < 3; i++ {
			buf = append(buf, '.')
			buf = strconv.AppendInt(buf, int64(r.intn(255)+(i/2)), 10)
		}
		return append(buf, '"')
	case fkID64:
		// 19 digits, always above 2^53: float64 cannot hold them.
		const lo = 1_000_000_000_000_000_000
		v := lo + r.next()%(math.MaxInt64-lo)
		return strconv.AppendUint(buf, v, 10)
	case fkEpoch:
		return strconv.AppendInt(buf, ctx.ts-int64(r.intn(3600)), 10)
	case fkEpochEnd:
		return strconv.AppendInt(buf, ctx.ts, 10)
	case fkEpochStart:
		return strconv.AppendInt(buf, ctx.ts-int64(r.intn(600)), 10)
	case fkEpochMS:
		return strconv.AppendInt(buf, (ctx.ts/86400)*86400*1000, 10)
	case fkLatitude:
		return strconv.AppendFloat(buf, float64(r.intn(1300000)-600000)/10000, 'f', -1, 64)
	case fkLongitude:
		return strconv.AppendFloat(buf, float64(r.intn(3600000)-1800000)/10000, 'f', -1, 64)
	case fkBool:
		if r.intn(2) == 0 {
			return append(buf, "false"...)
		}
		return append(buf, "true"...)
	case fkInt:
		if len(f.examples) > 0 {
			return append(buf, f.examples[r.intn(len(f.examples))]...)
		}
		return strconv.AppendInt(buf, int64(r.intn(1000)), 10)
	case fkRaw:
		if len(f.examples) > 0 {
			return append(buf, f.examples[r.intn(len(f.examples))]...)
		}
		return append(buf, f.empty...)
	default: // fkString, fkFloat
		if len(f.examples) > 0 {
			return append(buf, f.examples[r.intn(len(f.examples))]...)
		}
		if f.kind == fkFloat {
			return strconv.AppendFloat(buf, float64(r.intn(100000))/100, 'f', -1, 64)
		}
		buf = append(buf, '"')
		buf = append(buf, f.name...)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(r.intn(1000)), 10)
		return append(buf, '"')
	}
}

// appendString appends s as a JSON string.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		rn, size := utf8.DecodeRuneInString(s[i:])
		if rn == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
