# Sphinx settings of the collection's documentation site (`make docs`, scripts/build-docs); started from
# `antsibull-docs sphinx-init`. Offline: no intersphinx (its inventories live on the internet); the two ansible-core
# labels the generated pages refer to are defined in ansible-core.rst, linking to docs.ansible.com.

project = 'bestshot.devenv'
copyright = 'bestshot.devenv maintainers'

title = 'bestshot.devenv Collection Documentation'
html_short_title = 'bestshot.devenv'

extensions = ['sphinx_antsibull_ext']

pygments_style = 'ansible'

highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False

display_version = False

html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = 'any'

nitpicky = True
