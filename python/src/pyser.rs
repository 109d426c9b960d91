//! A `serde::Serializer` that builds Python objects directly: the core's JSON shapes
//! (`vfio_iommu_info::json::*_shape`) become the dicts, lists, ints, strings, bools and
//! Nones that `json.loads` would give for their JSON text, with no JSON text nor
//! `serde_json::Value` in between. The field names are Python strings made once per
//! thread and reused (their hash is cached too), which is most of the gain over
//! `pythonize` (it makes a fresh string per key: `decode(...).to_dict()` took 3.1 us
//! with it, against a 2 us goal).
//!
//! Only what JSON has is produced: a sequence, tuple or array becomes a list, a map or
//! struct a dict, an enum variant as serde's JSON form has it (`"name"`, or
//! `{"name": value}`). Floats and bytes never occur in the shapes and are refused.
//!
//! The `KEY_hex` siblings the command's JSON has (`vfio_iommu_info::json::hexify`) are
//! made here too, by the core's rule (`json::HEX_KEYS`, `json::hex_u64`): beside an
//! integer (or a list of integers) under one of those keys, its hex string. Which keys
//! have one is decided once per field name and thread, with the name's Python string.
//! `tests/test_to_dict.py` holds every `to_dict()` equal to the core's JSON.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString};
use serde::ser::{self, Serialize};
use vfio_iommu_info::json::{hex_u64_in, HEX_KEYS};

/// `shape` as Python objects.
pub(crate) fn to_py<'py>(py: Python<'py>, shape: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    // One look-up of the thread's cache per call, not one per key.
    KEYS.with(|keys| shape.serialize(Ser { py, keys }).map_err(|e| e.0))
}

/// A Python exception, as serde's error type.
pub(crate) struct Error(PyErr);

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Error(e)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(PyValueError::new_err(msg.to_string()))
    }
}

/// Hashes a `&'static str` by its address and length (the key cache's key).
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A field name's Python string, and its `_hex` sibling's when the core gives it one.
type Key = (Py<PyString>, Option<Py<PyString>>);

type Keys = HashMap<(usize, usize), Key, BuildHasherDefault<AddressHasher>>;

thread_local! {
    /// The Python string of each field name seen on this thread. Per thread, so that no
    /// lock is taken (free-threaded builds included).
    static KEYS: RefCell<Keys> = const { RefCell::new(Keys::with_hasher(BuildHasherDefault::new())) };
}

#[derive(Clone, Copy)]
struct Ser<'a, 'py> {
    py: Python<'py>,
    /// The thread's `KEYS`.
    keys: &'a RefCell<Keys>,
}

impl<'py> Ser<'_, 'py> {
    /// The Python string of a field or variant name, made once per thread.
    fn key(self, name: &'static str) -> Bound<'py, PyString> {
        self.key_and_hex(name).0
    }

    /// The Python string of a field name, and of its `_hex` sibling's name when
    /// `json::HEX_KEYS` has the name: made once per thread.
    fn key_and_hex(
        self,
        name: &'static str,
    ) -> (Bound<'py, PyString>, Option<Bound<'py, PyString>>) {
        let id = (name.as_ptr() as usize, name.len());
        let cached = self.keys.try_borrow().ok().and_then(|k| {
            k.get(&id).map(|(s, h)| {
                (
                    s.bind(self.py).clone(),
                    h.as_ref().map(|h| h.bind(self.py).clone()),
                )
            })
        });
        if let Some(s) = cached {
            return s;
        }
        // Made outside any borrow: a garbage collection it triggers may run Python code
        // that serializes too (on this thread, with this cache).
        let s = PyString::new(self.py, name);
        let h = HEX_KEYS
            .contains(&name)
            .then(|| PyString::new(self.py, &format!("{name}_hex")));
        if let Ok(mut k) = self.keys.try_borrow_mut() {
            k.insert(
                id,
                (s.clone().unbind(), h.as_ref().map(|h| h.clone().unbind())),
            );
        }
        (s, h)
    }
}

/// A non-negative integer (not a bool) that fits 64 bits.
fn as_u64(v: &Bound<'_, PyAny>) -> Option<u64> {
    // Exactly int: a bool (a subclass) is no integer in JSON.
    v.cast_exact::<PyInt>().ok()?.extract::<u64>().ok()
}

/// `n`'s hex string as a Python string, without a Rust allocation.
fn hex_string<'py>(py: Python<'py>, n: u64) -> Bound<'py, PyString> {
    PyString::new(py, hex_u64_in(n, &mut [0; 18]))
}

/// The `_hex` sibling of `value` as `json::hexify` makes it: the hex string of an
/// integer, the list of them of a non-empty list of integers, else none.
fn hex_sibling<'py>(value: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = value.py();
    if let Some(n) = as_u64(value) {
        return Ok(Some(hex_string(py, n).into_any()));
    }
    let Ok(list) = value.cast::<PyList>() else {
        return Ok(None);
    };
    if list.is_empty() {
        return Ok(None);
    }
    let mut strings = Vec::with_capacity(list.len());
    for item in list.iter() {
        let Some(n) = as_u64(&item) else {
            return Ok(None);
        };
        strings.push(hex_string(py, n));
    }
    Ok(Some(PyList::new(py, strings)?.into_any()))
}

type Result<T> = std::result::Result<T, Error>;

impl<'py> Ser<'_, 'py> {
    fn int<T>(self, v: T) -> Result<Bound<'py, PyAny>>
    where
        T: IntoPyObject<'py, Target = PyInt, Output = Bound<'py, PyInt>, Error = Infallible>,
    {
        let Ok(v) = v.into_pyobject(self.py);
        Ok(v.into_any())
    }
}

macro_rules! ints {
    ($($method:ident: $t:ty),*) => {
        $(fn $method(self, v: $t) -> Result<Bound<'py, PyAny>> {
            self.int(v)
        })*
    };
}

impl<'a, 'py> ser::Serializer for Ser<'a, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    type SerializeSeq = Seq<'a, 'py>;
    type SerializeTuple = Seq<'a, 'py>;
    type SerializeTupleStruct = Seq<'a, 'py>;
    type SerializeTupleVariant = Variant<Seq<'a, 'py>>;
    type SerializeMap = Map<'a, 'py>;
    type SerializeStruct = Map<'a, 'py>;
    type SerializeStructVariant = Variant<Map<'a, 'py>>;

    ints!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
          serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);

    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }

    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        Err(ser::Error::custom(format!("no float in a JSON shape: {v}")))
    }

    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        Err(ser::Error::custom(format!("no float in a JSON shape: {v}")))
    }

    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        Ok(PyString::new(self.py, v).into_any())
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok> {
        Err(ser::Error::custom("no bytes in a JSON shape"))
    }

    fn serialize_none(self) -> Result<Self::Ok> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Self::Ok> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok> {
        self.serialize_none()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Self::Ok> {
        Ok(self.key(variant).into_any())
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        wrap(self, variant, value.serialize(self)?)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'a, 'py>> {
        Ok(Seq {
            ser: self,
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq<'a, 'py>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a, 'py>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Seq<'a, 'py>>> {
        Ok(Variant {
            variant,
            inner: self.serialize_seq(Some(len))?,
        })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a, 'py>> {
        Ok(Map {
            ser: self,
            dict: PyDict::new(self.py),
            key: None,
        })
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Map<'a, 'py>> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Map<'a, 'py>>> {
        Ok(Variant {
            variant,
            inner: self.serialize_map(Some(len))?,
        })
    }
}

/// A list being built.
pub(crate) struct Seq<'a, 'py> {
    ser: Ser<'a, 'py>,
    items: Vec<Bound<'py, PyAny>>,
}

impl<'py> Seq<'_, 'py> {
    fn push<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(self.ser)?);
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        Ok(PyList::new(self.ser.py, self.items)?.into_any())
    }
}

impl<'py> ser::SerializeSeq for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }

    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTuple for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }

    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleStruct for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }

    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

/// A dict being built (a map, or a struct's fields).
pub(crate) struct Map<'a, 'py> {
    ser: Ser<'a, 'py>,
    dict: Bound<'py, PyDict>,
    /// The key `serialize_key` gave, until `serialize_value`.
    key: Option<Bound<'py, PyAny>>,
}

impl<'py> ser::SerializeMap for Map<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(self.ser)?);
        Ok(())
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <Error as ser::Error>::custom("a map value without its key"))?;
        let value = value.serialize(self.ser)?;
        // A flattened struct's fields arrive here (and a `serde_json::Value`'s entries,
        // whose siblings are already there: set again, to the same).
        let hex_name = key
            .extract::<String>()
            .ok()
            .filter(|k| HEX_KEYS.contains(&k.as_str()));
        let sibling = match &hex_name {
            Some(_) => hex_sibling(&value)?,
            None => None,
        };
        self.dict.set_item(key, value)?;
        if let (Some(name), Some(sibling)) = (hex_name, sibling) {
            self.dict.set_item(format!("{name}_hex"), sibling)?;
        }
        Ok(())
    }

    fn end(self) -> Result<Self::Ok> {
        Ok(self.dict.into_any())
    }
}

impl<'py> ser::SerializeStruct for Map<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<()> {
        let (key, hex_key) = self.ser.key_and_hex(name);
        let value = value.serialize(self.ser)?;
        let sibling = match &hex_key {
            Some(_) => hex_sibling(&value)?,
            None => None,
        };
        self.dict.set_item(key, value)?;
        if let (Some(hex_key), Some(sibling)) = (hex_key, sibling) {
            self.dict.set_item(hex_key, sibling)?;
        }
        Ok(())
    }

    fn end(self) -> Result<Self::Ok> {
        Ok(self.dict.into_any())
    }
}

/// `{"variant": inner}`.
pub(crate) struct Variant<I> {
    variant: &'static str,
    inner: I,
}

fn wrap<'py>(
    ser: Ser<'_, 'py>,
    variant: &'static str,
    inner: Bound<'py, PyAny>,
) -> Result<Bound<'py, PyAny>> {
    let d = PyDict::new(ser.py);
    d.set_item(ser.key(variant), inner)?;
    Ok(d.into_any())
}

impl<'py> ser::SerializeTupleVariant for Variant<Seq<'_, 'py>> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.inner.push(value)
    }

    fn end(self) -> Result<Self::Ok> {
        let ser = self.inner.ser;
        wrap(ser, self.variant, self.inner.finish()?)
    }
}

impl<'py> ser::SerializeStructVariant for Variant<Map<'_, 'py>> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<()> {
        ser::SerializeStruct::serialize_field(&mut self.inner, name, value)
    }

    fn end(self) -> Result<Self::Ok> {
        let ser = self.inner.ser;
        wrap(ser, self.variant, self.inner.dict.into_any())
    }
}
