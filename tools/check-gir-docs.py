#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the API documentation in Eipc-1.0.gir (test-gir-docs runs it).

Usage: check-gir-docs.py GIRFILE

Every class, function, method, constructor, virtual method, callback,
constant, enumeration, property and signal of the namespace that bindings
see has a doc comment and `Since: 1.0`; every enumeration value and
every parameter and return value a doc. Exits 1 listing what is missing.
"""
import sys
import xml.etree.ElementTree as ET

CORE = '{http://www.gtk.org/introspection/core/1.0}'
GLIB = '{http://www.gtk.org/introspection/glib/1.0}'
VERSIONED = {'class', 'interface', 'record', 'function', 'method', 'constructor',
             'virtual-method', 'callback', 'constant', 'enumeration', 'bitfield',
             'property', 'signal'}
# G_DECLARE_FINAL_TYPE's class structs, which gi-docgen does not show.
IGNORED_RECORDS = ('Class', 'Private', 'Interface')


def has_doc(element):
    doc = element.find(CORE + 'doc')
    return doc is not None and (doc.text or '').strip() != ''


def walk(element, path, problems):
    tag = element.tag.replace(CORE, '').replace(GLIB, 'glib:')
    name = element.get('name') or element.get(GLIB + 'name') or ''
    if element.get('introspectable') == '0':
        return
    if tag == 'record' and name.endswith(IGNORED_RECORDS) and \
            element.get(GLIB + 'is-gtype-struct-for') is not None:
        return
    here = f'{path}.{name}' if name else path
    if tag in VERSIONED or tag == 'glib:signal':
        if not has_doc(element):
            problems.append(f'{tag} {here}: no doc comment')
        if element.get('version') != '1.0':
            problems.append(f'{tag} {here}: no "Since: 1.0"')
    elif tag == 'member' and not has_doc(element):
        problems.append(f'value {here}: no doc')
    elif tag in ('parameter', 'return-value') and path.count('.') >= 1:
        if not has_doc(element) and element.find(CORE + 'type') is not None \
                and tag == 'parameter':
            problems.append(f'parameter {here}: no doc')
        if tag == 'return-value' and not has_doc(element) and \
                element.find(CORE + 'type') is not None and \
                element.find(CORE + 'type').get('name') != 'none':
            problems.append(f'return value of {path}: no doc')
    for child in element:
        walk(child, here, problems)


def main():
    root = ET.parse(sys.argv[1]).getroot()
    namespace = root.find(CORE + 'namespace')
    problems = []
    count = 0
    for element in namespace:
        count += 1
        walk(element, namespace.get('name'), problems)
    for problem in problems:
        print(problem)
    print(f'{count} top-level symbols in {namespace.get("name")}-{namespace.get("version")}, '
          f'{len(problems)} problems')
    sys.exit(1 if problems else 0)


main()
