// placeholder: being written (issue in progress)
