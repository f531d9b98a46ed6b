# SPDX-License-Identifier: GPL-2.0
#
# Minimal Sphinx configuration for the n_mbus documentation:
#
#   sphinx-build -W -b html Documentation /tmp/nmbus-doc

project = 'n_mbus'
copyright = 'the n_mbus authors'
release = '0.1.0'

master_doc = 'index'
exclude_patterns = ['man', '_build']
highlight_language = 'none'
html_theme = 'alabaster'
