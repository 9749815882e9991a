"""What checks and experiments share: studies that run certified optima and measure them.

A study is the computation behind a check row and a figure (the row judges it, the figure
draws it), so that neither imports the other. :mod:`gapsim.studies.bridge`: the finite-N
optimum under fixed concentration against the population optimum (issue 22).
"""
