package s3

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// newUploadID returns a new multipart upload id: opaque, URL-safe, about as long as S3's.
func newUploadID() string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Service) opCreateUpload(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	if len(x.key) > MaxKeyLength {
		return errf(http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
	}
	u := &upload{id: newUploadID(), key: x.key, initiated: s.now().UTC(), contentType: x.r.Header.Get("Content-Type"),
		contentEncoding: x.r.Header.Get("Content-Encoding"), metadata: userMetadata(x.r.Header), parts: map[int]*part{}}
	if u.contentType == "" {
		u.contentType = "binary/octet-stream"
	}
	b.mu.Lock()
	b.uploads[u.id] = u
	b.mu.Unlock()
	if alg := x.r.Header.Get("X-Amz-Checksum-Algorithm"); alg != "" {
		x.w.Header().Set("X-Amz-Checksum-Algorithm", alg)
	}
	s.reply(x, http.StatusOK, xmlBody(struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string
		Key      string
		UploadId string
	}{Xmlns: xmlns, Bucket: b.name, Key: x.key, UploadId: u.id}))
	return nil
}

// findUpload returns the open upload of x's uploadId; it must be for x's key.
func findUpload(b *bucket, x *req) (*upload, *s3Error) {
	id := x.query.Get("uploadId")
	u := b.uploads[id]
	if u == nil || u.key != x.key {
		return nil, errNoUpload(id)
	}
	return u, nil
}

func (s *Service) opUploadPart(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	n, err := strconv.Atoi(x.query.Get("partNumber"))
	if err != nil || n < 1 || n > MaxPartNumber {
		return errInvalidArgument("partNumber", x.query.Get("partNumber"), "Part number must be an integer between 1 and 10000, inclusive")
	}
	sums, e := verifyBody(x.r.Header, x.body)
	if e != nil {
		return e
	}
	b.mu.Lock()
	u, e := findUpload(b, x)
	if e != nil {
		b.mu.Unlock()
		return e
	}
	p := &part{data: x.body, etag: etagOf(x.body), modified: s.now().UTC()}
	u.parts[n] = p
	b.mu.Unlock()
	x.w.Header().Set("ETag", p.etag)
	for k, v := range sums {
		x.w.Header().Set(k, v)
	}
	s.reply(x, http.StatusOK, nil)
	return nil
}

// completeXML is the body of CompleteMultipartUpload.
type completeXML struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		ETag       string
		PartNumber int
	} `xml:"Part"`
}

func (s *Service) opCompleteUpload(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	var in completeXML
	if err := xml.Unmarshal(x.body, &in); err != nil {
		return errf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if len(in.Parts) == 0 {
		return errf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	b.mu.Lock()
	u, e := findUpload(b, x)
	if e != nil {
		b.mu.Unlock()
		return e
	}
	var data bytes.Buffer
	var md5s []byte
	prev := 0
	for i, p := range in.Parts {
		if p.PartNumber <= prev {
			b.mu.Unlock()
			return errf(http.StatusBadRequest, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.").with("UploadId", u.id)
		}
		prev = p.PartNumber
		stored := u.parts[p.PartNumber]
		if stored == nil || strings.Trim(p.ETag, `"`) != strings.Trim(stored.etag, `"`) {
			b.mu.Unlock()
			return errf(http.StatusBadRequest, "InvalidPart", "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.").
				with("UploadId", u.id).with("PartNumber", strconv.Itoa(p.PartNumber)).with("ETag", p.ETag)
		}
		if i < len(in.Parts)-1 && int64(len(stored.data)) < s.minPart {
			b.mu.Unlock()
			return errf(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.").
				with("ProposedSize", strconv.Itoa(len(stored.data))).with("MinSizeAllowed", strconv.FormatInt(s.minPart, 10)).
				with("PartNumber", strconv.Itoa(p.PartNumber)).with("ETag", stored.etag)
		}
		data.Write(stored.data)
		sum, _ := hex.DecodeString(strings.Trim(stored.etag, `"`))
		md5s = append(md5s, sum...)
	}
	f := s.Faults()
	if f.CompleteErrorRate > 0 && f.applies(x.op) && s.float64() < f.CompleteErrorRate {
		b.mu.Unlock()
		// S3 answers 200 at once and keeps the connection alive with whitespace while it
		// assembles the object; a failure then arrives as an <Error> in the 200's body.
		id := x.w.Header().Get("X-Amz-Request-Id")
		body := append([]byte("\n  \n"), errorBody(errf(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again."), id)...)
		x.w.Header().Set("Content-Type", "application/xml")
		s.reply(x, http.StatusOK, body)
		return nil
	}
	sum := md5.Sum(md5s)
	o := &object{key: u.key, data: data.Bytes(), etag: fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(sum[:]), len(in.Parts)),
		modified: s.now().UTC().Truncate(time.Millisecond), contentType: u.contentType, contentEncoding: u.contentEncoding, metadata: u.metadata}
	delete(b.uploads, u.id)
	b.mu.Unlock()
	s.store(b, o, "ObjectCreated:CompleteMultipartUpload", x.caller.UserID, remoteIP(x.r))
	s.reply(x, http.StatusOK, xmlBody(struct {
		XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Location string
		Bucket   string
		Key      string
		ETag     string
	}{Xmlns: xmlns, Location: "http://" + x.r.Host + "/" + b.name + "/" + o.key, Bucket: b.name, Key: o.key, ETag: o.etag}))
	return nil
}

func (s *Service) opAbortUpload(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	b.mu.Lock()
	u, e := findUpload(b, x)
	if e == nil {
		delete(b.uploads, u.id)
	}
	b.mu.Unlock()
	if e != nil {
		return e
	}
	s.reply(x, http.StatusNoContent, nil)
	return nil
}

func (s *Service) opListUploads(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	prefix, keyMarker, idMarker := x.query.Get("prefix"), x.query.Get("key-marker"), x.query.Get("upload-id-marker")
	maxUploads := MaxUploads
	if v := x.query.Get("max-uploads"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalidArgument("max-uploads", v, "Provided max-uploads not an integer or within integer range")
		}
		maxUploads = min(n, MaxUploads)
	}
	type uploadXML struct {
		Key          string
		UploadId     string
		Initiator    ownerXML
		Owner        ownerXML
		StorageClass string
		Initiated    string
	}
	out := struct {
		XMLName            xml.Name `xml:"ListMultipartUploadsResult"`
		Xmlns              string   `xml:"xmlns,attr"`
		Bucket             string
		KeyMarker          string
		UploadIdMarker     string
		NextKeyMarker      string `xml:",omitempty"`
		NextUploadIdMarker string `xml:",omitempty"`
		Prefix             string
		MaxUploads         int
		IsTruncated        bool
		Uploads            []uploadXML `xml:"Upload"`
	}{Xmlns: xmlns, Bucket: b.name, KeyMarker: keyMarker, UploadIdMarker: idMarker, Prefix: prefix, MaxUploads: maxUploads}
	b.mu.RLock()
	var us []*upload
	for _, u := range b.uploads {
		if !strings.HasPrefix(u.key, prefix) {
			continue
		}
		if keyMarker != "" && (u.key < keyMarker || u.key == keyMarker && (idMarker == "" || u.id <= idMarker)) {
			continue
		}
		us = append(us, u)
	}
	b.mu.RUnlock()
	sort.Slice(us, func(i, j int) bool {
		if us[i].key != us[j].key {
			return us[i].key < us[j].key
		}
		return us[i].initiated.Before(us[j].initiated) || us[i].initiated.Equal(us[j].initiated) && us[i].id < us[j].id
	})
	own := owner(b.account)
	for _, u := range us {
		if len(out.Uploads) == maxUploads {
			out.IsTruncated = true
			last := out.Uploads[len(out.Uploads)-1]
			out.NextKeyMarker, out.NextUploadIdMarker = last.Key, last.UploadId
			break
		}
		out.Uploads = append(out.Uploads, uploadXML{Key: u.key, UploadId: u.id, Initiator: own, Owner: own, StorageClass: "STANDARD",
			Initiated: u.initiated.Format(lastModifiedAt)})
	}
	s.reply(x, http.StatusOK, xmlBody(out))
	return nil
}

// MaxParts is the most parts one ListParts page lists.
const MaxParts = 1000

func (s *Service) opListParts(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	maxParts := MaxParts
	if v := x.query.Get("max-parts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalidArgument("max-parts", v, "Provided max-parts not an integer or within integer range")
		}
		maxParts = min(n, MaxParts)
	}
	marker := 0
	if v := x.query.Get("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalidArgument("part-number-marker", v, "Provided part-number-marker not an integer or within integer range")
		}
		marker = n
	}
	type partXML struct {
		PartNumber   int
		LastModified string
		ETag         string
		Size         int64
	}
	b.mu.RLock()
	u, e := findUpload(b, x)
	if e != nil {
		b.mu.RUnlock()
		return e
	}
	var nums []int
	for n := range u.parts {
		if n > marker {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	out := struct {
		XMLName              xml.Name `xml:"ListPartsResult"`
		Xmlns                string   `xml:"xmlns,attr"`
		Bucket               string
		Key                  string
		UploadId             string
		PartNumberMarker     int
		NextPartNumberMarker int
		MaxParts             int
		IsTruncated          bool
		Parts                []partXML `xml:"Part"`
		Initiator            ownerXML
		Owner                ownerXML
		StorageClass         string
	}{Xmlns: xmlns, Bucket: b.name, Key: u.key, UploadId: u.id, PartNumberMarker: marker, MaxParts: maxParts,
		Initiator: owner(b.account), Owner: owner(b.account), StorageClass: "STANDARD"}
	for _, n := range nums {
		if len(out.Parts) == maxParts {
			out.IsTruncated = true
			break
		}
		p := u.parts[n]
		out.Parts = append(out.Parts, partXML{PartNumber: n, LastModified: p.modified.Format(lastModifiedAt), ETag: p.etag, Size: int64(len(p.data))})
		out.NextPartNumberMarker = n
	}
	b.mu.RUnlock()
	s.reply(x, http.StatusOK, xmlBody(out))
	return nil
}
